// s3-bun-cached-fs/just-bash: just-bash's IFileSystem over the core filesystem, and a shell whose
// commands run in just-bash with one commit per command.
export { AcceleratedJustBashFs, type AcceleratedJustBashFsOptions, type CoreFilesystem, type ShellDirectoryEntry, type WriteGate } from "./accelerated-just-bash-fs.ts";
export {
  createAcceleratedJustBashShell,
  AcceleratedJustBashShell,
  shellSettingKeys,
  type AcceleratedJustBashShellOptions,
  type CommitMode,
  type CommandIsolation,
  type ShellExecOptions,
  type ShellResult,
} from "./accelerated-just-bash-shell.ts";
export { systemRoots, type ProcessInfo } from "./system-tree.ts";
