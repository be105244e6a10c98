// bun run demo:mastra
console.error("demo:mastra is not built yet: it arrives with its issue.");
process.exit(1);
