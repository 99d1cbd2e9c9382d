import type { HistoryEntry } from './history.ts'

/** Runs shown per chart: enough to see a trend, few enough that every point stays readable. */
const MAX_RUNS = 30
/** Date labels under the x axis; more runs than this label only every few. */
const MAX_X_LABELS = 8
/** Past this ratio between the largest and the smallest figure, a linear axis flattens the small ones. */
const LOG_SCALE_RATIO = 20

const WIDTH = 680
const HEIGHT = 300
const PLOT = { left: 70, right: 500, top: 52, bottom: 250 }

/** The same contender in the same colour on every chart. */
const COLOURS: Record<string, string> = {
  direct: '#6b7280',
  bridge: '#2563eb',
  peer: '#dc2626',
  'bare Bun proxy': '#059669',
}
const OTHER_COLOURS = ['#059669', '#d97706', '#7c3aed', '#0891b2']

const xmlText = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')

/** A figure as the legend and tooltips show it: whole numbers past 100, three digits below. */
export function formatFigure(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return String(Number(value.toPrecision(3)))
}

type Scale = { at: (value: number) => number; ticks: number[]; log: boolean }

/** Maps figures to the plot's height: logarithmic when they span more than LOG_SCALE_RATIO. */
function yScale(values: number[]): Scale {
  const max = Math.max(...values)
  const min = Math.min(...values)
  const height = PLOT.bottom - PLOT.top
  if (min > 0 && max / min > LOG_SCALE_RATIO) {
    const low = Math.floor(Math.log10(min))
    const high = Math.max(low + 1, Math.ceil(Math.log10(max)))
    const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i))
    const at = (value: number) => PLOT.bottom - ((Math.log10(value) - low) / (high - low)) * height
    return { at, ticks, log: true }
  }
  // A linear axis from zero to a round top: 1, 2 or 5 times a power of ten per step.
  const rough = (max || 1) / 5
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = ([1, 2, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power
  const top = Math.ceil((max || 1) / step) * step
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step)
  return { at: (value: number) => PLOT.bottom - (value / top) * height, ticks, log: false }
}

/**
 * One case over the runs in `history` as an SVG line chart: one line per contender (direct,
 * bridge, peer…), so that a run where the bridge fell behind its own past, or towards the peer,
 * stands out. Built as plain strings: the README shows it as an image, no library needed.
 */
export function caseChart(name: string, history: HistoryEntry[]): string | undefined {
  const runs = history.filter((entry) => entry.cases[name]).slice(-MAX_RUNS)
  const latest = runs.at(-1)?.cases[name]
  if (!latest) return undefined
  const series = [...new Set(runs.flatMap((run) => Object.keys(run.cases[name]?.values ?? {})))]
  const figures = runs.flatMap((run) =>
    Object.values(run.cases[name]?.values ?? {}).filter(Number.isFinite),
  )
  if (figures.length === 0) return undefined
  const y = yScale(figures)
  const x = (index: number) =>
    runs.length === 1
      ? (PLOT.left + PLOT.right) / 2
      : PLOT.left + (index / (runs.length - 1)) * (PLOT.right - PLOT.left)
  const colour = (key: string, index: number) =>
    COLOURS[key] ?? OTHER_COLOURS[index % OTHER_COLOURS.length] ?? '#000'

  const grid = y.ticks.map(
    (tick) =>
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${y.at(tick)}" y2="${y.at(tick)}" stroke="#e5e7eb"/>` +
      `<text x="${PLOT.left - 6}" y="${y.at(tick) + 4}" text-anchor="end">${formatFigure(tick)}</text>`,
  )
  const every = Math.ceil(runs.length / MAX_X_LABELS)
  const xLabels = runs.flatMap((run, index) =>
    index % every === 0 || index === runs.length - 1
      ? [
          `<text x="${x(index)}" y="${PLOT.bottom + 16}" text-anchor="middle">${xmlText(run.date.slice(5, 10))}</text>` +
            `<text x="${x(index)}" y="${PLOT.bottom + 30}" text-anchor="middle" fill="#6b7280">${xmlText(run.commit.slice(0, 7))}${run.dirty ? '+' : ''}</text>`,
        ]
      : [],
  )
  const lines = series.map((key, index) => {
    const points = runs.flatMap((run, runIndex) => {
      const value = run.cases[name]?.values[key]
      return value !== undefined && Number.isFinite(value) ? [{ runIndex, value, run }] : []
    })
    const path = points.map((point) => `${x(point.runIndex)},${y.at(point.value)}`).join(' ')
    const dots = points.map(
      (point) =>
        `<circle cx="${x(point.runIndex)}" cy="${y.at(point.value)}" r="3.5"><title>${xmlText(`${key}: ${formatFigure(point.value)} ${latest.unit} (${point.run.date.slice(0, 10)}, ${point.run.commit}, load ${point.run.loadAtStart} at start)`)}</title></circle>`,
    )
    return `<g stroke="${colour(key, index)}" fill="${colour(key, index)}"><polyline points="${path}" fill="none" stroke-width="2"/>${dots.join('')}</g>`
  })
  const legend = series.map((key, index) => {
    const value = latest.values[key]
    const top = PLOT.top + 8 + index * 22
    return (
      `<rect x="${PLOT.right + 20}" y="${top - 9}" width="12" height="12" fill="${colour(key, index)}"/>` +
      `<text x="${PLOT.right + 38}" y="${top + 1}">${xmlText(key)}${value === undefined ? '' : `: ${formatFigure(value)}`}</text>`
    )
  })
  const subtitle = `${latest.unit}, ${latest.better} is better${y.log ? ', log scale' : ''}; last ${runs.length} full run${runs.length === 1 ? '' : 's'} (date, commit; + = uncommitted changes)`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12" fill="#111827">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="20" font-size="14" font-weight="600">${xmlText(latest.title)}</text>`,
    `<text x="${PLOT.left}" y="38" fill="#6b7280">${xmlText(subtitle)}</text>`,
    ...grid,
    `<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#9ca3af"/>`,
    ...xLabels,
    ...lines,
    ...legend,
    '</svg>',
    '',
  ].join('\n')
}
