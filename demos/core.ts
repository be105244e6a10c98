// bun run demo:core
console.error("demo:core is not built yet: it arrives with its issue.");
process.exit(1);
