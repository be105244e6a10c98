// bun run demo:flue
console.error("demo:flue is not built yet: it arrives with its issue.");
process.exit(1);
