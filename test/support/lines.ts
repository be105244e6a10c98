// Reading a child process's output (or a worker's stdin) line by line, as the lines arrive.

/** Calls `onLine` with each line of `stream`, without its newline, as soon as the line is whole. */
export async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const piece of stream) {
    buffered += decoder.decode(piece, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onLine(line);
    }
  }
}
