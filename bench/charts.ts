// SVG charts drawn by the benchmark itself (no plotting dependency): per scenario, median time
// and requests per operation by subject; and an overview of how much faster (or slower) ours is
// than each remote baseline in every scenario.

import type { ScenarioResult, SubjectName } from "./results.ts";
import { subjectLabels } from "./results.ts";
import { comparedValue, formatRatio, ratioToOurs, type SubjectSummary } from "./summary.ts";

const colors: Record<SubjectName, string> = {
  ours: "#1f6fb2",
  "raw-s3": "#8c8c8c",
  "mastra-s3": "#d9822b",
  "local-disk": "#5a9a4c",
  "in-memory": "#8e63b0",
};

const font = `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"`;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A compact number for labels: 0.012, 1.5, 230, 12,300. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude >= 0.01) return value.toFixed(3);
  return value.toPrecision(2);
}

/** A power of ten as a tick label: 0.01, 0.1, 1, 10, 1,000. */
function decadeLabel(value: number): string {
  const exponent = Math.round(Math.log10(value));
  return exponent < 0 ? value.toFixed(-exponent) : Math.round(value).toLocaleString("en-US");
}

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

interface Panel {
  title: string;
  values: number[];
  unit: string;
}

/** Position on a log axis from `low` to `high`, scaled to `width`. */
function logPosition(value: number, low: number, high: number, width: number): number {
  return (Math.log10(value / low) / Math.log10(high / low)) * width;
}

function panelSvg(panel: Panel, subjects: SubjectName[], x: number, width: number, rowHeight: number, top: number): string {
  const positive = panel.values.filter((value) => value > 0 && Number.isFinite(value));
  const parts: string[] = [`<text x="${x}" y="${top - 10}" font-size="12" font-weight="600" ${font}>${escape(panel.title)}</text>`];
  if (positive.length === 0) {
    subjects.forEach((_, row) => parts.push(`<text x="${x + 4}" y="${top + row * rowHeight + rowHeight / 2 + 4}" font-size="11" ${font}>0</text>`));
    return parts.join("");
  }
  const low = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...positive)) + (Math.max(...positive) === Math.min(...positive) ? 1 : 0));
  const usable = width - 70;
  for (let decade = low; decade <= high * 1.0001; decade *= 10) {
    const position = x + logPosition(decade, low, high, usable);
    parts.push(`<line x1="${position}" y1="${top - 4}" x2="${position}" y2="${top + subjects.length * rowHeight}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${position}" y="${top + subjects.length * rowHeight + 12}" font-size="9" fill="#777" text-anchor="middle" ${font}>${decadeLabel(decade)}</text>`);
  }
  subjects.forEach((subject, row) => {
    const value = panel.values[row]!;
    const y = top + row * rowHeight + 3;
    if (value > 0 && Number.isFinite(value)) {
      const length = Math.max(2, logPosition(value, low, high, usable));
      parts.push(`<rect x="${x}" y="${y}" width="${length.toFixed(1)}" height="${rowHeight - 6}" fill="${colors[subject]}" rx="2"/>`);
      parts.push(`<text x="${x + length + 4}" y="${y + rowHeight / 2 + 1}" font-size="11" ${font}>${formatNumber(value)}${panel.unit}</text>`);
    } else {
      parts.push(`<text x="${x + 4}" y="${y + rowHeight / 2 + 1}" font-size="11" ${font}>${value === 0 ? `0${panel.unit}` : "n/a"}</text>`);
    }
  });
  return parts.join("");
}

/** Two panels, log scales: the compared figure (time, or the scenario's metric) and requests per operation. */
export function scenarioChart(scenario: ScenarioResult, summaries: SubjectSummary[]): string {
  const subjects = summaries.map((summary) => summary.subject);
  const rowHeight = 24;
  const labelWidth = 190;
  const panelWidth = 300;
  const titleLines = wrap(scenario.title, 100);
  const top = 48 + 16 * (titleLines.length - 1);
  const height = top + subjects.length * rowHeight + 30;
  const width = labelWidth + 2 * panelWidth + 20;
  const metric = scenario.timed === false ? scenario.metricColumns?.[0] : undefined;
  const timePanel: Panel = {
    title: metric === undefined ? `median time of ${scenario.operations === 1 ? "the run" : `${scenario.operations} ${scenario.operationUnit}s`}, ms (log)` : `${metric[1]} (log)`,
    values: summaries.map((summary) => comparedValue(scenario, summary)),
    unit: metric === undefined ? " ms" : "",
  };
  const requestPanel: Panel = { title: `remote requests per ${scenario.operationUnit} (log)`, values: summaries.map((summary) => summary.requestsPerOperation), unit: "" };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...titleLines.map((line, index) => `<text x="10" y="${18 + 16 * index}" font-size="13" font-weight="700" ${font}>${escape(line)}</text>`),
  ];
  subjects.forEach((subject, row) => {
    parts.push(`<text x="${labelWidth - 8}" y="${top + row * rowHeight + rowHeight / 2 + 4}" font-size="11" text-anchor="end" ${font}>${escape(subjectLabels[subject])}</text>`);
  });
  parts.push(panelSvg(timePanel, subjects, labelWidth, panelWidth, rowHeight, top));
  parts.push(panelSvg(requestPanel, subjects, labelWidth + panelWidth + 10, panelWidth, rowHeight, top));
  parts.push("</svg>");
  return parts.join("\n");
}

/** For every scenario: baseline time / our time for the remote baselines, on a log axis around 1×. */
export function overviewChart(scenarios: { scenario: ScenarioResult; summaries: SubjectSummary[] }[]): string {
  const baselines: SubjectName[] = ["raw-s3", "mastra-s3"];
  const rows = scenarios.filter(({ scenario }) => scenario.subjects.some((subject) => baselines.includes(subject.subject)) && scenario.subjects.some((subject) => subject.subject === "ours"));
  const ratios = rows.flatMap(({ scenario, summaries }) => baselines.map((subject) => ratioToOurs(scenario, summaries, subject)).filter((ratio): ratio is number => ratio !== undefined && Number.isFinite(ratio) && ratio > 0));
  const extreme = Math.max(10, ...ratios.map((ratio) => Math.max(ratio, 1 / ratio)));
  const limit = 10 ** Math.ceil(Math.log10(extreme));
  const labelWidth = 260;
  const plotWidth = 520;
  const groupHeight = 30;
  const top = 56;
  const height = top + rows.length * groupHeight + 40;
  const width = labelWidth + plotWidth + 90;
  const position = (ratio: number) => labelWidth + ((Math.log10(ratio) + Math.log10(limit)) / (2 * Math.log10(limit))) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="13" font-weight="700" ${font}>How much faster s3-bun-cached-fs is than each remote baseline (baseline time / ours, log scale)</text>`,
    `<text x="10" y="36" font-size="11" fill="#555" ${font}>right of 1×: ours faster; left: ours slower.</text>`,
    `<rect x="${labelWidth}" y="${top - 8}" width="10" height="10" fill="${colors["raw-s3"]}"/><text x="${labelWidth + 14}" y="${top}" font-size="10" ${font}>vs ${escape(subjectLabels["raw-s3"])}</text>`,
    `<rect x="${labelWidth + 200}" y="${top - 8}" width="10" height="10" fill="${colors["mastra-s3"]}"/><text x="${labelWidth + 214}" y="${top}" font-size="10" ${font}>vs ${escape(subjectLabels["mastra-s3"])}</text>`,
  ];
  const plotTop = top + 10;
  for (let tick = 1 / limit; tick <= limit * 1.0001; tick *= 10) {
    const x = position(tick);
    parts.push(`<line x1="${x}" y1="${plotTop}" x2="${x}" y2="${plotTop + rows.length * groupHeight}" stroke="${tick === 1 ? "#333" : "#e3e3e3"}"/>`);
    parts.push(`<text x="${x}" y="${plotTop + rows.length * groupHeight + 12}" font-size="9" fill="#777" text-anchor="middle" ${font}>${tick >= 1 ? `${decadeLabel(tick)}×` : `1/${decadeLabel(1 / tick)}`}</text>`);
  }
  rows.forEach(({ scenario, summaries }, row) => {
    const y = plotTop + row * groupHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + groupHeight / 2 + 4}" font-size="11" text-anchor="end" ${font}>${escape(scenario.id)}</text>`);
    baselines.forEach((subject, index) => {
      const ratio = ratioToOurs(scenario, summaries, subject);
      if (ratio === undefined || !Number.isFinite(ratio) || ratio <= 0) return;
      const from = position(1);
      const to = position(Math.min(limit, Math.max(1 / limit, ratio)));
      const barY = y + 4 + index * 11;
      parts.push(`<rect x="${Math.min(from, to).toFixed(1)}" y="${barY}" width="${Math.max(1, Math.abs(to - from)).toFixed(1)}" height="10" fill="${colors[subject]}"/>`);
      parts.push(`<text x="${(ratio >= 1 ? to + 4 : to - 4).toFixed(1)}" y="${barY + 9}" font-size="9" text-anchor="${ratio >= 1 ? "start" : "end"}" ${font}>${formatRatio(ratio)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n");
}
