import type { ChartConfiguration } from 'chart.js';
import { renderChart } from './chart.js';
import { CURVE_COLOURS } from './roc-plot.js';

/** One decision rule's rates by gallery size (means over the draws). */
export interface OpenSetSeries {
  label: string;
  points: Array<{ size: number; fpir: number; dir: number }>;
  /** Dashed lines (e.g. two enrolled photos). */
  dashed?: boolean;
}

const FPIR_MIN = 1e-3;

/**
 * FPIR (right axis, logarithmic) and DIR (left axis) against gallery size (logarithmic), one colour per rule,
 * DIR solid-dotted and FPIR with square points, the target band shaded.
 */
export async function renderOpenSetPlot(
  series: OpenSetSeries[],
  options: { title?: string; targetFpir?: number; width?: number; height?: number } = {},
): Promise<Buffer> {
  const { title, targetFpir, width = 900, height = 600 } = options;
  const datasets: ChartConfiguration<'scatter'>['data']['datasets'] = [];
  series.forEach((s, i) => {
    const colour = CURVE_COLOURS[i % CURVE_COLOURS.length];
    const dash = s.dashed ? [6, 4] : [];
    datasets.push({
      label: `DIR, ${s.label}`,
      data: s.points.map((p) => ({ x: p.size, y: p.dir * 100 })),
      yAxisID: 'dir',
      showLine: true,
      borderColor: colour,
      backgroundColor: colour,
      borderDash: dash,
      borderWidth: 2,
      pointRadius: 4,
      pointStyle: 'circle',
    });
    datasets.push({
      label: `FPIR, ${s.label}`,
      data: s.points.map((p) => ({ x: p.size, y: Math.max(p.fpir, FPIR_MIN) * 100 })),
      yAxisID: 'fpir',
      showLine: true,
      borderColor: colour,
      backgroundColor: colour,
      borderDash: dash,
      borderWidth: 1,
      pointRadius: 5,
      pointStyle: 'rect',
    });
  });
  const sizes = series.flatMap((s) => s.points.map((p) => p.size));
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    data: { datasets },
    options: {
      plugins: {
        title: { display: !!title, text: title ?? '', font: { size: 16, weight: 'bold' } },
        legend: { position: 'bottom', labels: { boxWidth: 18, boxHeight: 3, font: { size: 11 } } },
      },
      scales: {
        x: {
          type: 'logarithmic',
          min: Math.min(...sizes) / 1.3,
          max: Math.max(...sizes) * 1.3,
          afterBuildTicks: (axis) => {
            axis.ticks = [...new Set(sizes)].sort((a, b) => a - b).map((value) => ({ value }));
          },
          ticks: { callback: (v) => String(v) },
          title: { display: true, text: 'People in the gallery' },
        },
        dir: {
          type: 'linear',
          position: 'left',
          min: 0,
          max: 100,
          title: { display: true, text: 'DIR: mated probes named right (%), circles' },
        },
        fpir: {
          type: 'logarithmic',
          position: 'right',
          min: FPIR_MIN * 100,
          max: 100,
          grid: { drawOnChartArea: false },
          afterBuildTicks: (axis) => {
            axis.ticks = [0.1, 0.5, 1, 1.5, 5, 10, 50, 100].map((value) => ({ value }));
          },
          ticks: { callback: (v) => `${v}%` },
          title: {
            display: true,
            text: `FPIR: strangers given a name (%, log), squares${targetFpir ? `; target ${targetFpir * 100}%` : ''}`,
          },
        },
      },
    },
  };
  return renderChart(config, width, height);
}
