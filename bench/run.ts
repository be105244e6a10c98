// npm run bench
console.error("bench is not built yet: it arrives with its issue.");
process.exit(1);
