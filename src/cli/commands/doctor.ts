import type { Command } from '../command.js';
export const command: Command = { summary: '', usage: '', async run() { return 1; } };
