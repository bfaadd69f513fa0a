// Scaling an ingredient's quantity by servings: "1 1/2" × 2 = "3", "200" ×
// 0.5 = "100", "2-3" × 2 = "4-6"; words ("to taste", "a pinch") stay as
// they are.
const number = /(\d+\s+\d+\/\d+|\d+\/\d+|\d+(?:\.\d+)?)/g;

function parse(s) {
  const mixed = s.match(/^(\d+)\s+(\d+)\/(\d+)$/);
  if (mixed) return Number(mixed[1]) + Number(mixed[2]) / Number(mixed[3]);
  const frac = s.match(/^(\d+)\/(\d+)$/);
  if (frac) return Number(frac[2]) ? Number(frac[1]) / Number(frac[2]) : NaN;
  return Number(s);
}

const fractions = [[1 / 4, '1/4'], [1 / 3, '1/3'], [1 / 2, '1/2'], [2 / 3, '2/3'], [3 / 4, '3/4']];

function format(x) {
  const whole = Math.floor(x);
  const rest = x - whole;
  if (rest < 0.01) return String(whole);
  if (rest > 0.99) return String(whole + 1);
  for (const [v, text] of fractions) if (Math.abs(rest - v) < 0.01) return whole ? `${whole} ${text}` : text;
  return String(Math.round(x * 100) / 100);
}

export function scaleQuantity(q, factor) {
  if (!q || factor === 1) return q || '';
  return q.replace(number, (m) => {
    const v = parse(m);
    return Number.isFinite(v) ? format(v * factor) : m;
  });
}
