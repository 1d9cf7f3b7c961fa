import type { ChartConfiguration } from 'chart.js';
import { renderChart } from './chart.js';

export interface RocCurve {
  label: string;
  points: Array<{ far: number; tar: number }>;
}

export const FAR_MIN = 1e-4;
/** Distinct line colours cycled across curves (Tableau 10). */
export const CURVE_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const DECADES = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/** Renders ROC curves (TAR vs FAR, FAR axis logarithmic from 1e-4 to 1) to a PNG buffer. */
export async function renderRocPlot(
  curves: RocCurve[],
  options: { title?: string; width?: number; height?: number } = {},
): Promise<Buffer> {
  const { title, width = 800, height = 600 } = options;
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    data: {
      datasets: curves.map((c, i) => ({
        label: c.label,
        // Log axis cannot show 0: clamp FAR to the axis minimum.
        data: c.points.map((p) => ({ x: Math.max(p.far, FAR_MIN), y: p.tar })).sort((a, b) => a.x - b.x || a.y - b.y),
        showLine: true,
        borderColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
        backgroundColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
        borderWidth: 2,
        pointRadius: 0,
      })),
    },
    options: {
      plugins: {
        title: { display: !!title, text: title ?? '', font: { size: 16, weight: 'bold' } },
        legend: { position: 'bottom', labels: { boxWidth: 24, boxHeight: 3 } },
      },
      scales: {
        x: {
          type: 'logarithmic',
          min: FAR_MIN,
          max: 1,
          // Default log ticks (0.0002, 0.4000, ...) are cluttered: keep decades only.
          afterBuildTicks: (axis) => {
            axis.ticks = DECADES.map((value) => ({ value }));
          },
          ticks: { maxRotation: 0, callback: (v) => String(v) },
          title: { display: true, text: 'False accept rate' },
        },
        y: { type: 'linear', min: 0, max: 1, ticks: { stepSize: 0.1 }, title: { display: true, text: 'True accept rate' } },
      },
    },
  };
  return renderChart(config, width, height);
}
