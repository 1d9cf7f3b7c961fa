import { Chart, type ChartConfiguration, type Plugin } from 'chart.js';
import { renderChart } from './chart.js';

export interface DistanceDistributions {
  genuine: readonly number[];
  impostor: readonly number[];
  threshold: number;
}

/** Bar colours (Tableau 10 green and red, half transparent so that overlapping bins stay visible) and the threshold line. */
export const GENUINE_COLOUR = '#2ca02c';
export const IMPOSTOR_COLOUR = '#d62728';
export const THRESHOLD_COLOUR = '#1f77b4';
const BAR_ALPHA = '80';
export const DEFAULT_BINS = 50;

function thresholdLine(threshold: number): Plugin<'bar'> {
  return {
    id: 'facerecThreshold',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const x = Math.round(chart.scales.x!.getPixelForValue(threshold));
      ctx.save();
      ctx.strokeStyle = THRESHOLD_COLOUR;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      ctx.fillStyle = THRESHOLD_COLOUR;
      ctx.font = `bold 13px ${Chart.defaults.font.family}`;
      ctx.textBaseline = 'top';
      const label = `threshold ${threshold.toFixed(3)}`;
      // Right of the line unless that would leave the plot area.
      const right = x + 6 + ctx.measureText(label).width <= chartArea.right;
      ctx.textAlign = right ? 'left' : 'right';
      ctx.fillText(label, right ? x + 6 : x - 6, chartArea.top + 6);
      ctx.restore();
    },
  };
}

/** Shares of `distances` in `bins` equal bins over [lo, hi], as bar points at the bin centres. */
function histogram(distances: readonly number[], lo: number, width: number, bins: number): Array<{ x: number; y: number }> {
  const counts = new Array<number>(bins).fill(0);
  let finite = 0;
  for (const d of distances) {
    if (!Number.isFinite(d)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((d - lo) / width)))]!++;
    finite++;
  }
  return counts.map((n, i) => ({ x: lo + (i + 0.5) * width, y: finite ? n / finite : 0 }));
}

/**
 * Renders genuine and impostor distance histograms over shared bins, each as the share of its own pairs (impostors
 * outnumber genuine pairs by orders of magnitude), with a dashed vertical line at the threshold, to a PNG buffer.
 */
export async function renderDistancePlot(
  distributions: DistanceDistributions,
  options: { title?: string; width?: number; height?: number; bins?: number } = {},
): Promise<Buffer> {
  const { title, width = 800, height = 600, bins = DEFAULT_BINS } = options;
  const { genuine, impostor, threshold } = distributions;
  let lo = Number.isFinite(threshold) ? threshold : 0,
    hi = lo;
  // A loop, not Math.min(...): impostor lists of millions of distances overflow the argument stack.
  for (const distances of [genuine, impostor]) {
    for (const d of distances) {
      if (!Number.isFinite(d)) continue;
      lo = Math.min(lo, d);
      hi = Math.max(hi, d);
    }
  }
  const binWidth = hi > lo ? (hi - lo) / bins : 1 / bins;
  const dataset = (label: string, distances: readonly number[], colour: string) => ({
    label: `${label} (${distances.length.toLocaleString('en-US')})`,
    data: histogram(distances, lo, binWidth, bins),
    backgroundColor: colour + BAR_ALPHA,
    borderColor: colour,
    borderWidth: 1,
    // Overlaid, not side by side: both classes share each bin.
    grouped: false,
    barPercentage: 1,
    categoryPercentage: 1,
  });
  const config: ChartConfiguration<'bar', Array<{ x: number; y: number }>> = {
    type: 'bar',
    data: { datasets: [dataset('genuine', genuine, GENUINE_COLOUR), dataset('impostor', impostor, IMPOSTOR_COLOUR)] },
    options: {
      plugins: {
        title: { display: !!title, text: title ?? '', font: { size: 16, weight: 'bold' } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: {
          type: 'linear',
          min: lo,
          max: lo + bins * binWidth,
          title: { display: true, text: 'Distance' },
          ticks: { maxRotation: 0, includeBounds: false },
        },
        y: { type: 'linear', beginAtZero: true, title: { display: true, text: 'Share of pairs' } },
      },
    },
    plugins: [thresholdLine(threshold)],
  };
  return renderChart(config, width, height);
}
