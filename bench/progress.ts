/** One status line on stderr while a long benchmark runs: step count, what runs now, time left. */
export interface Progress {
  step(label: string): void;
  note(text: string): void;
  finish(): void;
}

export function createProgress(total: number): Progress {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let done = 0;
  let lastLine = '';
  const left = () => {
    if (done === 0) return '';
    const seconds = Math.round((((Date.now() - started) / done) * (total - done)) / 1000);
    return seconds >= 90 ? ` · about ${Math.round(seconds / 60)} min left` : ` · about ${seconds} s left`;
  };
  const write = (line: string) => {
    lastLine = line;
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  return {
    step(label) {
      write(`[${String(done + 1).padStart(String(total).length)}/${total}] ${label}${left()}`);
      done++;
    },
    note(text) {
      if (tty && lastLine) process.stderr.write('\r\x1b[K');
      process.stderr.write(`${text}\n`);
      if (tty && lastLine) process.stderr.write(lastLine);
    },
    finish() {
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
    },
  };
}
