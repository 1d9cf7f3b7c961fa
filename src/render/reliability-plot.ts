import type { ChartConfiguration } from 'chart.js';
import { renderChart } from './chart.js';
import { CURVE_COLOURS } from './roc-plot.js';

/** One attribute's reliability bins: mean confidence and accuracy of the answers in each, and how many there were. */
export interface ReliabilitySeries {
  label: string;
  bins: Array<{ confidence: number; accuracy: number; n: number }>;
}

/**
 * A reliability diagram: per bin, the accuracy of the answers against the probability given to them (a calibrated
 * probability lies on the diagonal), the point's area proportional to the answers in the bin.
 */
export async function renderReliabilityPlot(
  series: ReliabilitySeries[],
  options: { title?: string; width?: number; height?: number } = {},
): Promise<Buffer> {
  const { title, width = 800, height = 600 } = options;
  const most = Math.max(1, ...series.flatMap((s) => s.bins.map((b) => b.n)));
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'calibrated',
          data: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
          showLine: true,
          borderColor: '#999999',
          borderDash: [6, 4],
          borderWidth: 1,
          pointRadius: 0,
        },
        ...series.map((s, i) => ({
          label: s.label,
          data: s.bins.map((b) => ({ x: b.confidence, y: b.accuracy })),
          showLine: true,
          borderColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
          backgroundColor: CURVE_COLOURS[i % CURVE_COLOURS.length],
          borderWidth: 2,
          pointRadius: s.bins.map((b) => 3 + 9 * Math.sqrt(b.n / most)),
        })),
      ],
    },
    options: {
      plugins: {
        title: { display: !!title, text: title ?? '', font: { size: 16, weight: 'bold' } },
        legend: { position: 'bottom', labels: { boxWidth: 24, boxHeight: 3 } },
      },
      scales: {
        x: { type: 'linear', min: 0, max: 1, ticks: { stepSize: 0.1 }, title: { display: true, text: 'Probability given to the answer' } },
        y: { type: 'linear', min: 0, max: 1, ticks: { stepSize: 0.1 }, title: { display: true, text: 'Share of answers right' } },
      },
    },
  };
  return renderChart(config, width, height);
}
