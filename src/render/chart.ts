/** chart.js on @napi-rs/canvas, for the PNG plots: fonts, a white background, and the encode. */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type ChartItem, type ChartType, type Plugin } from 'chart.js';
import { ensureFonts } from './fonts.js';

const BACKGROUND = '#ffffff';
const TEXT_COLOUR = '#333333';

Chart.register(...registerables);

const whiteBackground: Plugin = {
  id: 'facerecWhiteBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/** Draws a chart of `width`×`height` on a white background and encodes it as PNG. */
export async function renderChart<T extends ChartType, D>(
  config: ChartConfiguration<T, D>,
  width: number,
  height: number,
): Promise<Buffer> {
  // Root-level options.font is not inherited by scales/legend, so set the global default.
  Chart.defaults.font.family = ensureFonts();
  Chart.defaults.color = TEXT_COLOUR;
  const canvas = createCanvas(width, height);
  // A still image at exactly the canvas size.
  const still = {
    ...config,
    options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
    plugins: [whiteBackground as Plugin<T>, ...(config.plugins ?? [])],
  };
  // chart.js only needs a canvas-like object; without a DOM it falls back to BasicPlatform.
  const chart = new Chart(canvas.getContext('2d') as unknown as ChartItem, still as ChartConfiguration<T, D>);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}
