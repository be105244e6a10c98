// bun run demo:just-bash
console.error("demo:just-bash is not built yet: it arrives with its issue.");
process.exit(1);
