// bun run demo:all
console.error("demo:all is not built yet: it arrives with its issue.");
process.exit(1);
