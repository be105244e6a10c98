// Shell-script corpus for the just-bash differential harness (./differential.ts). Each case seeds `files` under
// /workspace, runs `script` there in a fresh Bash, and the harness compares stdout/stderr/exit code and the final
// /workspace tree between two filesystems. Scripts must be deterministic: no dates, no mtimes (`ls -l` prints
// them), no $RANDOM/$$, and no archives left behind in the tree (tar headers embed mtimes). `note` records known
// quirks of just-bash over InMemoryFs that a stricter fs may legitimately not reproduce.

export interface ShellCase {
  name: string;
  /** Files created (with parent directories) under /workspace before the script runs, keyed by relative path. */
  files?: Record<string, string>;
  script: string;
  note?: string;
}

const project: Record<string, string> = {
  "README.md": "# demo\nneedle in the readme\n",
  "src/main.ts": "import { helper } from './lib/helper';\nconsole.log(helper('needle'));\n",
  "src/lib/helper.ts": "export function helper(x: string) {\n  return x.toUpperCase();\n}\n",
  "src/lib/util.ts": "// no match here\nexport const pi = 3.14;\n",
  "docs/guide.txt": "Step 1\nfind the Needle\nStep 2\n",
  "docs/notes.txt": "nothing to see\n",
  "data/a.csv": "id,name\n1,alpha\n2,beta\n",
};

export const shellCorpus: ShellCase[] = [
  // ── mkdir ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "mkdir -p nested and idempotent",
    script: "mkdir -p a/b/c/d && mkdir -p a/b && mkdir -p a/x a/y/z\necho rc=$?\nfind . -type d | sort",
  },
  {
    name: "mkdir of an existing directory fails, -p does not",
    script: "mkdir d; mkdir d; echo rc=$?; mkdir -p d; echo rc=$?; mkdir d/e d/e; echo rc=$?; ls -1 d",
  },
  {
    name: "mkdir without -p under a missing parent fails",
    script: "mkdir p/q; echo rc=$?; mkdir p p/q; echo rc=$?; find . | sort",
  },
  {
    name: "mkdir over an existing file fails",
    files: { "f.txt": "content\n" },
    script: "mkdir f.txt; echo rc=$?; mkdir -p f.txt; echo rc=$?; cat f.txt; test -f f.txt && echo still-a-file",
  },
  {
    name: "mkdir -p below a regular file",
    files: { "f": "x\n" },
    script: "mkdir -p f/sub; echo rc=$?; test -f f && echo f-is-file; cat f",
    note: "InMemoryFs accepts this (rc=0, hidden child under a file); real bash fails with 'Not a directory'.",
  },

  // ── redirects ────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "redirect > truncates",
    script: "echo one > f.txt; echo two > f.txt; cat f.txt; printf 'abc' > g.txt; : > g.txt; wc -c g.txt",
  },
  {
    name: "redirect >> appends and creates",
    script: "echo one >> log.txt; echo two >> log.txt; printf 'three' >> log.txt; cat log.txt; echo; wc -l log.txt",
  },
  {
    name: "redirect >> onto a seeded file",
    files: { "notes/todo.txt": "- first\n" },
    script: "for i in 2 3 4; do echo \"- item $i\" >> notes/todo.txt; done; cat notes/todo.txt; wc -l < notes/todo.txt",
  },
  {
    name: "redirect stdin and stdout together",
    files: { "in.txt": "b\na\nc\n" },
    script: "sort < in.txt > out.txt; cat out.txt; tr a-z A-Z < out.txt > upper.txt; cat upper.txt",
  },
  {
    name: "redirect stderr to a file",
    script: "ls missing 2> err.txt; echo rc=$?; cat err.txt; cat missing 2>> err.txt; wc -l < err.txt",
  },
  {
    name: "redirect into a directory fails",
    script: "mkdir d; echo a > d; echo rc=$?; echo b >> d; echo rc=$?; ls -1",
  },
  {
    name: "redirect into a missing directory",
    script: "echo x > new/dir/f.txt; echo rc=$?; find . | sort",
    note: "InMemoryFs creates the missing parents (rc=0); real bash fails with 'No such file or directory'.",
  },

  // ── pipes ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "pipe word frequency",
    files: { "words.txt": "the cat the dog the end cat\n" },
    script: "cat words.txt | tr ' ' '\\n' | sort | uniq -c | sort -rn | head -3",
  },
  {
    name: "pipe through tee into files",
    script: "seq 5 | tee nums.txt | tail -n 2; seq 3 | tee a.txt b.txt > /dev/null; cat a.txt b.txt | wc -l; cat nums.txt",
  },
  {
    name: "pipe a file listing into a file",
    files: project,
    script: "find . -type f | sort > list.txt; cat list.txt; grep -c ts list.txt",
  },

  // ── grep ─────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "grep -r",
    files: project,
    script: "grep -r needle .; echo rc=$?; grep -ri needle docs",
  },
  {
    name: "grep -rn",
    files: project,
    script: "grep -rn needle src; grep -rn 'Step' .",
  },
  {
    name: "grep -l and -rl",
    files: project,
    script: "grep -l needle README.md docs/guide.txt docs/notes.txt; grep -rli needle . | sort; grep -rl --include='*.ts' export .",
  },
  {
    name: "grep -c -v and no-match exit code",
    files: { "a.txt": "one\ntwo\nthree\n" },
    script: "grep -c o a.txt; grep -v o a.txt; grep zzz a.txt; echo rc=$?; grep -r zzz .; echo rc=$?",
  },
  {
    name: "grep on a missing file",
    files: { "a.txt": "hello\n" },
    script: "grep hello a.txt missing.txt; echo rc=$?; grep hello missing.txt 2>/dev/null; echo rc=$?",
  },

  // ── find ─────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "find -name",
    files: project,
    script: "find . -name '*.ts'; find src -name 'h*'; find . -name '*.txt' | sort",
  },
  {
    name: "find -type f and -type d",
    files: project,
    script: "find . -type d | sort; echo ---; find . -type f | sort; echo ---; find docs -type f -name '*.txt' | wc -l",
  },
  {
    name: "find -maxdepth, -o and -exec",
    files: project,
    script: "find . -maxdepth 1 | sort; find . -name '*.csv' -o -name '*.md' | sort; find docs -name '*.txt' -exec wc -l {} \\; | sort",
  },
  {
    name: "find on a missing path and empty dirs",
    script: "mkdir -p e1 e2/e3; touch e2/f; find . -type d -empty | sort; find nope; echo rc=$?",
  },

  // ── sed -i ───────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "sed -i substitution",
    files: { "conf.ini": "host=localhost\nport=80\nhost2=localhost\n" },
    script: "sed -i 's/localhost/example.org/g' conf.ini; cat conf.ini",
  },
  {
    name: "sed -i on several files via glob",
    files: { "a.txt": "v1\n", "b.txt": "v1 and v1\n", "c.md": "v1\n" },
    script: "sed -i 's/v1/v2/' *.txt; cat a.txt b.txt c.md",
  },
  {
    name: "sed -i delete and insert lines",
    files: { "app.conf": "# comment\nkey=1\n# other\nkey=2\n" },
    script: "sed -i '/^#/d' app.conf; sed -i '1i header' app.conf; cat app.conf; wc -l app.conf",
  },
  {
    name: "sed -i on a missing file",
    script: "sed -i 's/a/b/' nope.txt; echo rc=$?; ls -1",
  },

  // ── cp ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "cp -r to a new directory",
    files: project,
    script: "cp -r src backup; find backup | sort; cat backup/lib/helper.ts",
  },
  {
    name: "cp -r into an existing directory",
    files: project,
    script: "mkdir dest; cp -r docs dest; cp -r src dest/; find dest | sort",
  },
  {
    name: "cp files over files and into directories",
    files: { "a.txt": "A\n", "b.txt": "B\n", "dir/keep.txt": "keep\n" },
    script: "cp a.txt b.txt; cat b.txt; cp a.txt dir; cp a.txt b.txt dir/; ls -1 dir; cp missing.txt x; echo rc=$?",
  },
  {
    name: "cp a directory without -r fails",
    files: { "d/f.txt": "f\n" },
    script: "cp d d2; echo rc=$?; test -e d2 || echo no-d2",
  },

  // ── mv ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "mv renames a file",
    files: { "old.txt": "payload\n" },
    script: "mv old.txt new.txt; ls -1; cat new.txt; test -e old.txt || echo gone",
  },
  {
    name: "mv files into a directory",
    files: { "a.txt": "a\n", "b.txt": "b\n", "c.log": "c\n" },
    script: "mkdir out; mv a.txt b.txt out; mv c.log out/renamed.log; find . | sort",
  },
  {
    name: "mv renames a directory with contents",
    files: project,
    script: "mv src source; find . -path './source*' | sort; test -d src || echo src-gone",
  },
  {
    name: "mv a directory into an existing directory",
    files: project,
    script: "mkdir archive; mv docs archive; mv data archive/; find archive | sort",
  },
  {
    name: "mv a missing source and onto a file",
    files: { "f.txt": "f\n", "d/x": "x\n" },
    script: "mv nope.txt there.txt; echo rc=$?; mv d f.txt; echo rc=$?; find . | sort",
  },

  // ── rm ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "rm -rf a tree",
    files: project,
    script: "rm -rf src docs; find . | sort; rm -rf nothing-here; echo rc=$?",
  },
  {
    name: "rm of a missing file fails",
    script: "rm missing.txt; echo rc=$?; rm a b c; echo rc=$?",
  },
  {
    name: "rm -f of a missing file succeeds",
    files: { "x.txt": "x\n" },
    script: "rm -f missing.txt x.txt; echo rc=$?; ls -A; echo end",
  },
  {
    name: "rm of a directory without -r fails",
    files: { "d/f": "f\n" },
    script: "rm d; echo rc=$?; rmdir d; echo rc=$?; rm d/f; rmdir d; echo rc=$?; ls -A",
  },
  {
    name: "rm -rf with globs",
    files: { "keep.md": "k\n", "a.tmp": "", "b.tmp": "", "cache/x.tmp": "", "cache/y/z": "z\n" },
    script: "rm -rf *.tmp cache/*; find . | sort",
  },

  // ── symlinks ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "ln -s to a file, readlink, cat through the link",
    files: { "target.txt": "through the link\n" },
    script: "ln -s target.txt link.txt; readlink link.txt; cat link.txt; test -L link.txt && echo is-link",
  },
  {
    name: "ln -s to a directory",
    files: { "real/inner.txt": "inner\n" },
    script: "ln -s real alias; readlink alias; cat alias/inner.txt; ls alias; echo new > alias/added.txt; cat real/added.txt",
    note: "InMemoryFs writes through a directory symlink to a hidden entry: real/added.txt does not appear.",
  },
  {
    name: "dangling symlink",
    script: "ln -s nowhere dl; readlink dl; cat dl; echo rc=$?; test -e dl || echo dangling; test -L dl && echo still-link",
  },
  {
    name: "ln -s over an existing path fails, -sf replaces",
    files: { "a": "A\n", "b": "B\n" },
    script: "ln -s a b; echo rc=$?; cat b; ln -sf a b; echo rc=$?; readlink b; cat b",
  },
  {
    name: "write through a symlink and readlink of a plain file",
    files: { "t.txt": "one\n" },
    script: "ln -s t.txt l; echo two >> l; cat t.txt; readlink t.txt; echo rc=$?; rm l; cat t.txt",
    note: "InMemoryFs appendFile/writeFile on a symlink replace the link with a regular file; the target is untouched.",
  },

  // ── chmod / stat ─────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "chmod numeric and stat -c",
    files: { "a.sh": "echo hi\n", "b.txt": "b\n" },
    script: "stat -c '%a %n' a.sh b.txt; chmod 755 a.sh; chmod 600 b.txt; stat -c '%a %A %n' a.sh b.txt",
  },
  {
    name: "chmod symbolic and test -x",
    files: { "run.sh": "#!/bin/sh\n" },
    script: "test -x run.sh || echo not-exec; chmod +x run.sh; stat -c '%a' run.sh; test -x run.sh && echo exec; chmod u-w,go-x run.sh; stat -c '%a' run.sh",
  },
  {
    name: "chmod -R on a directory",
    files: { "d/e/f.txt": "f\n", "d/g.txt": "g\n" },
    script: "chmod -R 700 d; stat -c '%a %F %n' d d/e d/e/f.txt d/g.txt",
  },
  {
    name: "chmod of a missing file fails",
    script: "chmod 644 nope; echo rc=$?; mkdir d; chmod 711 d; stat -c '%a' d",
  },

  // ── touch ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "touch creates empty files and keeps content",
    files: { "existing.txt": "keep me\n" },
    script: "touch new.txt existing.txt; cat existing.txt; wc -c new.txt; test -s new.txt || echo empty; ls -1",
  },
  {
    name: "touch many and in a missing directory",
    script: "touch f1 f2 f3; touch no/dir/x; echo rc=$?; find . | sort",
    note: "InMemoryFs creates the missing parents for touch (rc=0); real touch fails.",
  },

  // ── tar ──────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "tar -cf, -tf, -xf round trip",
    files: project,
    script: "tar -cf p.tar src docs; tar -tf p.tar; mkdir out; tar -xf p.tar -C out; find out | sort; cat out/src/lib/helper.ts; rm p.tar",
  },
  {
    name: "tar -xf overwrites existing files",
    files: { "x.txt": "original\n" },
    script: "tar -cf t.tar x.txt; echo changed > x.txt; tar -xf t.tar; cat x.txt; rm t.tar; ls -1",
  },
  {
    name: "tar -czf and -tzf",
    files: { "d/a.txt": "a\n", "d/sub/b.txt": "b\n" },
    script: "tar -czf d.tgz d; tar -tzf d.tgz; rm -rf d; tar -xzf d.tgz; find d | sort; rm d.tgz",
  },
  {
    name: "tar of a missing path",
    script: "tar -cf t.tar nope; echo rc=$?; tar -tf missing.tar; echo rc=$?; rm -f t.tar; ls -A",
  },

  // ── loops ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "for loop creates files",
    script: "for n in alpha beta gamma; do mkdir -p \"$n\"; echo \"$n\" > \"$n/name.txt\"; done; cat */name.txt",
  },
  {
    name: "while read loop over a file",
    files: { "list.txt": "one\ntwo\nthree\n" },
    script: "i=0; while read -r line; do i=$((i+1)); echo \"$i:$line\" >> numbered.txt; done < list.txt; cat numbered.txt",
  },
  {
    name: "nested loops build a grid of directories",
    script: "for a in x y; do for b in 1 2 3; do mkdir -p \"$a/$b\" && touch \"$a/$b/cell\"; done; done; find . -type f | sort | wc -l; ls x",
  },
  {
    name: "many files via a loop",
    script: "for i in $(seq 1 200); do echo \"n=$i\" > \"f_$i.txt\"; done; ls | wc -l; cat f_137.txt; printf '%s\\n' f_*.txt | wc -l; rm f_1*.txt; ls | wc -l",
  },

  // ── globbing ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "glob *.txt",
    files: { "a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n", "sub/d.txt": "d\n" },
    script: "echo *.txt; cat *.txt; for f in *.txt; do echo \"[$f]\"; done; ls -1 *.txt",
  },
  {
    name: "glob ** with globstar",
    files: { "a.txt": "", "x/b.txt": "", "x/y/c.txt": "", "x/y/d.md": "" },
    script: "echo **/*.txt; shopt -s globstar; echo **/*.txt; echo x/**/*.md",
  },
  {
    name: "glob with no match stays literal",
    script: "echo *.nothing; ls *.nothing; echo rc=$?",
  },
  {
    name: "glob ? and bracket classes",
    files: { "f1": "", "f2": "", "f10": "", "fa": "", "g1": "" },
    script: "echo f?; echo f[12]; echo [fg]1; echo f*",
  },

  // ── wc / sort / head / tail ──────────────────────────────────────────────────────────────────────────────
  {
    name: "wc counts",
    files: { "t.txt": "one two\nthree\n\nfour five six\n", "u.txt": "x\n" },
    script: "wc t.txt; wc -l t.txt u.txt; wc -w < t.txt; wc -c t.txt",
  },
  {
    name: "sort variants",
    files: { "n.txt": "10\n9\n100\n9\n-1\n", "w.txt": "pear\nApple\nbanana\napple\n" },
    script: "sort n.txt; sort -n n.txt; sort -rn n.txt; sort -u n.txt; sort w.txt; sort -f w.txt",
  },
  {
    name: "head and tail",
    script: "seq 20 > s.txt; head -3 s.txt; tail -n 2 s.txt; head -c 5 s.txt; echo; tail -n +18 s.txt; head -n 1 missing.txt; echo rc=$?",
  },

  // ── errors on missing / wrong-type paths ─────────────────────────────────────────────────────────────────
  {
    name: "cat of a missing file",
    files: { "a.txt": "a\n" },
    script: "cat missing.txt; echo rc=$?; cat a.txt missing.txt; echo rc=$?",
  },
  {
    name: "cat of a directory",
    files: { "d/x": "x\n" },
    script: "cat d; echo rc=$?",
    note: "just-bash's cat reports 'No such file or directory' for a directory (bash: 'Is a directory').",
  },
  {
    name: "write under a regular file",
    files: { "file": "plain\n" },
    script: "echo x > file/child; echo rc=$?; cat file",
    note: "InMemoryFs accepts this (rc=0) and `cat file/child` even works; real bash says 'Not a directory'.",
  },
  {
    name: "append, copy and mkdir under a regular file",
    files: { "file": "plain\n", "src.txt": "s\n" },
    script: "echo x >> file/child; echo rc=$?; cp src.txt file/copy; echo rc=$?; mkdir file/sub; echo rc=$?; cat file",
    note: "InMemoryFs lets paths below a regular file succeed; a stricter fs reports ENOTDIR.",
  },
  {
    name: "ls of missing paths",
    files: { "a": "" },
    script: "ls nope; echo rc=$?; ls a nope; echo rc=$?",
  },

  // ── cd ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "cd into subdirectories",
    files: { "a/b/c/deep.txt": "deep\n" },
    script: "cd a/b; pwd; echo here > here.txt; cd c; cat deep.txt; cd ../..; pwd; ls -1 b",
  },
  {
    name: "cd to missing and to a file fails",
    files: { "f": "" },
    script: "cd nope; echo rc=$?; cd f; echo rc=$?; pwd",
  },
  {
    name: "cd with relative writes and subshells",
    script: "mkdir -p w/x; (cd w/x && echo in > in.txt && pwd); pwd; cat w/x/in.txt; cd w && cd .. && ls -1",
  },

  // ── here-docs ────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "here-doc with expansion into a file",
    script: "name=world\ncat <<EOF > greet.txt\nhello $name\nsum=$((2+3))\nEOF\ncat greet.txt",
  },
  {
    name: "quoted here-doc and <<- tab stripping",
    script: "cat <<'EOF' > lit.txt\n$HOME stays literal\nEOF\ncat <<-EOF >> lit.txt\n\ttabbed line\n\tEOF\ncat lit.txt",
  },
  {
    name: "here-doc feeding a loop",
    script: "while read -r k v; do echo \"$v\" > \"$k.val\"; done <<EOF\nalpha 1\nbeta 2\nEOF\nls -1; cat beta.val",
  },

  // ── test / [ ] ───────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "test -f, -d, [ -e ]",
    files: { "f.txt": "x\n", "d/inner": "" },
    script: "test -f f.txt && echo f; test -d d && echo d; test -f d || echo d-not-file; [ -e f.txt ] && echo e; [ -e nope ] || echo no-nope; [ -d f.txt ]; echo rc=$?",
  },
  {
    name: "test -s and empty files",
    files: { "empty": "", "full": "data\n" },
    script: "[ -s full ] && echo full-nonempty; [ -s empty ] || echo empty-is-empty; [ -e empty ] && echo empty-exists; [ -r full ] && echo readable",
  },

  // ── exit codes ───────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "exit codes of false and $?",
    script: "false; echo $?; true; echo $?; (exit 4); echo $?; ! false; echo $?",
  },
  {
    name: "failing command last",
    files: { "a": "a\n" },
    script: "cat a\ncat missing-last",
  },
  {
    name: "explicit exit and set -e",
    script: "echo before > f.txt; set -e; false; echo never > f.txt",
  },
  {
    name: "exit with a status",
    script: "echo partial > p.txt; exit 3; echo no >> p.txt",
  },

  // ── /dev/null ────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "2>/dev/null hides errors",
    script: "cat missing 2>/dev/null; echo rc=$?; rm nope 2>/dev/null || echo rm-failed; ls nope 2>/dev/null; echo rc=$?",
  },
  {
    name: ">/dev/null and &>/dev/null",
    files: { "a": "a\n" },
    script: "cat a > /dev/null; echo rc=$?; ls nope &>/dev/null; echo rc=$?; cat a missing > /dev/null 2>&1; echo rc=$?; cat /dev/null > empty.txt; wc -c empty.txt",
  },

  // ── binary-ish content ───────────────────────────────────────────────────────────────────────────────────
  {
    name: "binary bytes with printf and wc -c",
    script: "printf '\\x00\\x01' > bin; wc -c bin; printf '\\x00\\x01\\x02\\x7f' >> bin; wc -c bin; od -An -tx1 bin",
  },
  {
    name: "high bytes from printf",
    script: "printf '\\xff\\xfe\\x80\\x00' > hb; wc -c hb; base64 hb; sha256sum hb",
    note: "just-bash writes \\xNN >= 0x80 UTF-8 encoded (7 bytes here), unlike bash (4 raw bytes).",
  },
  {
    name: "binary survives cp, mv and tar",
    script: "printf 'a\\x00b\\x01c\\n' > b1; cp b1 b2; mv b2 b3; tar -cf t.tar b1 b3; rm b1 b3; tar -xf t.tar; rm t.tar; md5sum b1 b3; wc -c b1 b3",
  },

  // ── unicode ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "unicode file names and content",
    script: "mkdir -p 'ü/ñ'; echo 'héllo wörld ✓' > 'ü/ñ/日本.txt'; ls ü/ñ; wc -c 'ü/ñ/日本.txt'; cat ü/ñ/*; find . -name '*.txt'",
  },
  {
    name: "unicode in grep, sort and mv",
    files: { "émoji 🎉.txt": "party 🎉\n", "naïve.txt": "café\n", "plain.txt": "cafe\n" },
    script: "grep -rl 'caf' . | sort; grep -r '🎉' .; mv naïve.txt 'naïve – renamed.txt'; ls -1; cat 'émoji 🎉.txt'",
  },
  {
    name: "file names with spaces",
    files: { "my docs/a file.txt": "spaced\n" },
    script: "cat 'my docs/a file.txt'; cp -r 'my docs' 'your docs'; find . -name '* file.txt' | sort; for f in my\\ docs/*; do echo \"<$f>\"; done",
  },

  // ── empty files and directories ──────────────────────────────────────────────────────────────────────────
  {
    name: "empty files",
    files: { "seeded-empty": "" },
    script: "touch t; : > c; printf '' > p; cat seeded-empty t c p; wc -c seeded-empty t c p; cp t t2; ls -1",
  },
  {
    name: "empty directories",
    script: "mkdir e; ls e; echo rc=$?; ls -A e | wc -l; cp -r e e2; mv e2 e3; rmdir e; ls -1",
  },

  // ── deep trees ───────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "deep tree",
    script: "p=.; for i in $(seq 1 30); do p=\"$p/d$i\"; done; mkdir -p \"$p\"; echo bottom > \"$p/leaf.txt\"; find . -type d | wc -l; cat \"$p/leaf.txt\"; grep -rl bottom . | wc -l",
  },
  {
    name: "deep tree copy, move and removal",
    script: "mkdir -p a/b/c/d/e/f/g; echo g > a/b/c/d/e/f/g/file; cp -r a copy; mv copy/b/c moved; rm -rf a; find . | sort",
  },

  // ── misc ─────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "ls variants",
    files: { ".hidden": "h\n", "b": "", "a/x": "", "c.txt": "" },
    script: "ls; ls -1; ls -a; ls -A; ls -R a; ls -1 a c.txt",
  },
  {
    name: "xargs, cut and awk over files",
    files: { "data/a.csv": "id,name\n1,alpha\n2,beta\n", "data/b.csv": "id,name\n3,gamma\n", "data/skip.log": "x\n" },
    script: "find data -name '*.csv' | sort | xargs cat | cut -d, -f2 | sort; awk -F, 'NR>1 {print $1}' data/a.csv; find data -name '*.log' | xargs rm; ls data",
  },
  // ── system directories, served from memory by a non-InMemoryFs filesystem ──────────────────────────────────
  {
    name: "system directories and PATH lookups",
    script: "ls /dev; cat /proc/version; cat /proc/self/comm; which ls; command -v cat; ls /usr/bin | grep -c '^ls$'; cat /dev/null | wc -c; cp /dev/null empty; wc -c empty",
  },
  {
    name: "redirect to /dev/stdout and /dev/stderr",
    script: "echo hi > /dev/stderr; echo out > /dev/stdout; echo err 2>&1 >/dev/stderr; ls /dev/fd; ls -d /dev/null",
  },

  // ── links, more ──────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "ln makes a hard link",
    files: { "a": "A\n" },
    script: "ln a b; echo rc=$?; cat b; ls -1",
  },
  {
    name: "ln: both names are one file (test -ef), rm of one keeps the other, a directory is refused",
    files: { "a": "A\n", "d/x": "x\n" },
    script: "ln a b; test a -ef b && echo same; test a -ef d/x || echo different; rm a; cat b; ln d e; echo rc=$?; ln b b; echo rc=$?; ln missing f; echo rc=$?; ls -1",
  },
  {
    name: "ln: a write through one name shows through the other",
    files: { "a": "A\n" },
    script: "ln a b; echo more >> b; cat a; echo new > a; cat b",
    note: "InMemoryFs's link copies the bytes at link time (the names share only an identity); POSIX names share the file.",
  },
  {
    name: "cp -r copies the links inside a tree",
    script: "mkdir d; echo x > d/f; ln -s f d/l; cp -r d e; find e | sort; readlink e/l; cat e/l",
  },
  {
    name: "cd through a symlink, pwd and pwd -P",
    script: "mkdir -p real/sub; echo in > real/sub/f; ln -s real/sub s; cd s; pwd; pwd -P; cat f; cd ..; pwd; cd -P s; pwd",
  },
  {
    name: "rm -r of a directory holding a link keeps the link's target",
    script: "mkdir keep d; echo k > keep/f; ln -s ../keep d/l; rm -r d; cat keep/f; ls",
  },
  {
    name: "mv a directory onto a non-empty directory",
    script: "mkdir -p a/x b/a/y; mv a b; echo rc=$?; find . | sort",
    note: "InMemoryFs merges the two trees; rename(2) refuses with ENOTEMPTY ('Directory not empty') and leaves both in place.",
  },

  // ── more commands that write files ───────────────────────────────────────────────────────────────────────
  {
    name: "base64 -d writes raw bytes",
    script: "printf 'AAEC/w==' | base64 -d > b.bin; od -An -tx1 b.bin; base64 b.bin; wc -c b.bin",
  },
  {
    name: "gzip and gunzip in place",
    script: "echo hello > h.txt; gzip h.txt; ls; gunzip h.txt.gz; cat h.txt; ls",
  },
  {
    name: "sort -o in place and tee -a",
    script: "printf 'b\\na\\n' > in; sort -o in in; cat in; echo c | tee -a in; cat in",
  },
  {
    name: "xargs mkdir -p and rmdir -p",
    script: "printf 'a/b\\nc/d\\n' | xargs mkdir -p; find . -type d | sort; rmdir -p a/b; find . -type d | sort",
  },
  {
    name: "find -delete",
    files: { "x.tmp": "", "k/y.tmp": "", "k/z.txt": "z" },
    script: "find . -name '*.tmp' -delete; find . | sort",
  },
  {
    name: "split into parts",
    script: "seq 1 10 > s; split -l 4 s part_; ls part_*; cat part_ab; cat part_* | wc -l",
  },
  {
    name: "rg, tree and du over a tree",
    files: { "src/a.ts": "needle\n", "b.md": "no\n", "d/a": "aaaa", "d/b/c": "cc" },
    script: "rg needle; rg -l needle .; rg --files | sort; tree d; du -a d | sort -k2",
  },
  // ── users' files in the system directories, cp of links (issue 21) ─────────────────────────────────────
  {
    name: "a script put in /bin runs from PATH",
    script:
      "printf 'echo hi from $1\\n' > /bin/greet; chmod +x /bin/greet; greet x; which greet; ls /bin | grep greet; " +
      "mkdir -p /usr/local/bin; printf 'echo local\\n' > /usr/local/bin/tool; chmod +x /usr/local/bin/tool; PATH=/usr/local/bin:$PATH tool; " +
      "rm /bin/greet; greet; echo rc=$?",
  },
  {
    name: "a user's file replaces a command's stub",
    script: "echo mine > /usr/bin/cat; cat /usr/bin/cat; rm /usr/bin/cat; test -e /usr/bin/cat || echo gone; which cat; rm /bin/cat; cat /dev/null; echo rc=$?",
  },
  {
    name: "/dev/fd holds files, and process substitution works",
    script: "echo data > /dev/fd/99; echo more >> /dev/fd/99; cat /dev/fd/99; rm /dev/fd/99; diff <(echo a) <(echo a); echo rc=$?; cat <(echo x) <(echo y); ls /dev/fd | wc -l",
  },
  {
    name: "cp -r of a symlink copies the link",
    script: "echo x > t; ln -s t l; cp -r l c; readlink c; cat c; mkdir d; ln -s d dl; cp -R dl c2; readlink c2; echo y > e; cp -r l e; readlink e",
  },
  {
    name: "cp of a symlink without -r copies the target's bytes",
    script: "echo x > t; ln -s t l; cp l c; test -L c && echo link || echo file; cat c",
    note: "InMemoryFs copies the link itself; GNU cp without -r (or -P) follows it and copies the bytes.",
  },
  {
    name: "ln -s into a missing directory",
    script: "echo x > t; ln -s ../t a/b/l; echo rc=$?; find . | sort",
    note: "InMemoryFs creates the missing parents; symlink(2) and ln fail with ENOENT.",
  },
  {
    name: "rm -r and mv of the system directories",
    script: "rm -r /bin; echo rc=$?; test -d /bin && echo bin-kept; mv /usr /usr2; echo rc=$?; test -d /usr && echo usr-kept",
    note: "InMemoryFs removes or moves them like any directory; a filesystem serving them from memory may keep them.",
  },
  {
    name: "cp and mv into a missing directory",
    script: "echo a > a; cp a x/y/z; echo rc=$?; mv a q/r; echo rc=$?; find . | sort",
    note: "InMemoryFs creates the missing parents; cp and mv (rename(2)) fail with ENOENT.",
  },
  {
    name: "jq reads and writes files",
    files: { "c.json": "{\"a\":[1,2,3]}" },
    script: "jq '.a | add' c.json; jq -c '.a |= map(.*2)' c.json > d.json; cat d.json",
  },
];
