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
        // Exact endpoints when the crossing is at a grid point, so neighbouring cells produce identical keys.
        const lerp = (p0: number, p1: number, v0: number, v1: number) => {
          const t = (level - v0) / (v1 - v0);
          return t <= 0 ? p0 : t >= 1 ? p1 : p0 + t * (p1 - p0);
        };
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

/** An iso-line as a polyline (closed loops repeat their first point at the end). */
export interface Polyline {
  level: number;
  points: [number, number][];
}

/**
 * Joins marching-squares segments into polylines: neighbouring cells compute a shared edge's crossing
 * with the same arithmetic, so endpoints match exactly. A line mark per polyline is far smaller in SVG
 * than a rule per segment.
 */
export function contourPolylines(z: ArrayLike<number>, xs: readonly number[], ys: readonly number[], levels: readonly number[]): Polyline[] {
  const out: Polyline[] = [];
  for (const level of levels) {
    // Zero-length segments (a grid point exactly on the level) join nothing.
    const segments = contourSegments(z, xs, ys, [level]).filter((s) => s.x !== s.x2 || s.y !== s.y2);
    const key = (x: number, y: number) => `${x},${y}`;
    const byPoint = new Map<string, number[]>();
    segments.forEach((s, i) => {
      for (const k of [key(s.x, s.y), key(s.x2, s.y2)]) {
        const list = byPoint.get(k);
        if (list) list.push(i);
        else byPoint.set(k, [i]);
      }
    });
    const used = new Uint8Array(segments.length);
    // Walks from point (x, y) along unused segments, appending to `points`.
    const walk = (points: [number, number][], x: number, y: number) => {
      for (;;) {
        const next = (byPoint.get(key(x, y)) ?? []).find((i) => !used[i]);
        if (next === undefined) return;
        used[next] = 1;
        const s = segments[next];
        [x, y] = s.x === x && s.y === y ? [s.x2, s.y2] : [s.x, s.y];
        points.push([x, y]);
      }
    };
    // Open lines first (they start at a point with one segment), then the closed loops left over.
    const order = segments.map((_, i) => i).sort((a, b) => degree(a) - degree(b));
    function degree(i: number): number {
      const s = segments[i];
      return Math.min(byPoint.get(key(s.x, s.y))!.length, byPoint.get(key(s.x2, s.y2))!.length);
    }
    for (const i of order) {
      if (used[i]) continue;
      used[i] = 1;
      const s = segments[i];
      const forward: [number, number][] = [[s.x2, s.y2]];
      walk(forward, s.x2, s.y2);
      const backward: [number, number][] = [];
      walk(backward, s.x, s.y);
      out.push({ level, points: [...backward.reverse(), [s.x, s.y], ...forward] });
    }
  }
  return out;
}
