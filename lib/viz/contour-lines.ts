// Marching squares: iso-lines of a sampled function as line segments (for contour charts and boundaries).

/** A segment of an iso-line in grid coordinates' data units. */
export interface Segment {
  x: number;
  y: number;
  x2: number;
  y2: number;
  level: number;
}

/**
 * Iso-line segments of z (row-major [ys.length, xs.length], z[r][c] at (xs[c], ys[r])) at each level.
 * Saddle cells are resolved by the cell-centre average.
 */
export function contourSegments(z: ArrayLike<number>, xs: readonly number[], ys: readonly number[], levels: readonly number[]): Segment[] {
  const nx = xs.length;
  const ny = ys.length;
  const out: Segment[] = [];
  const at = (r: number, c: number) => z[r * nx + c];
  for (const level of levels) {
    for (let r = 0; r + 1 < ny; r++) {
      for (let c = 0; c + 1 < nx; c++) {
        // Corners counter-clockwise from (r, c): a=(r,c) b=(r,c+1) d=(r+1,c+1) e=(r+1,c)
        const va = at(r, c), vb = at(r, c + 1), vd = at(r + 1, c + 1), ve = at(r + 1, c);
        if (![va, vb, vd, ve].every(Number.isFinite)) continue;
        const code = (va > level ? 1 : 0) | (vb > level ? 2 : 0) | (vd > level ? 4 : 0) | (ve > level ? 8 : 0);
        if (code === 0 || code === 15) continue;
        const lerp = (p0: number, p1: number, v0: number, v1: number) => p0 + ((level - v0) / (v1 - v0)) * (p1 - p0);
        // Crossing points on the four edges.
        const top = () => [lerp(xs[c], xs[c + 1], va, vb), ys[r]] as const; // a-b
        const right = () => [xs[c + 1], lerp(ys[r], ys[r + 1], vb, vd)] as const; // b-d
        const bottom = () => [lerp(xs[c], xs[c + 1], ve, vd), ys[r + 1]] as const; // e-d
        const left = () => [xs[c], lerp(ys[r], ys[r + 1], va, ve)] as const; // a-e
        const seg = (p: readonly [number, number], q: readonly [number, number]) => out.push({ x: p[0], y: p[1], x2: q[0], y2: q[1], level });
        switch (code) {
          case 1: case 14: seg(top(), left()); break;
          case 2: case 13: seg(top(), right()); break;
          case 3: case 12: seg(left(), right()); break;
          case 4: case 11: seg(right(), bottom()); break;
          case 6: case 9: seg(top(), bottom()); break;
          case 7: case 8: seg(left(), bottom()); break;
          case 5: case 10: {
            const centre = (va + vb + vd + ve) / 4 > level;
            // code 5: a and d above. If the centre is above too, the above-region connects a–d.
            if ((code === 5) === centre) { seg(top(), right()); seg(left(), bottom()); }
            else { seg(top(), left()); seg(right(), bottom()); }
            break;
          }
        }
      }
    }
  }
  return out;
}
