package org.aiphub.bench.loadgen;

/** Least-squares line {@code y = intercept + slope * x}, with its coefficient of determination. */
record LinearFit(double slope, double intercept, double r2) {
  static LinearFit of(double[] x, double[] y) {
    int n = x.length;
    if (n < 2 || y.length != n) {
      return new LinearFit(Double.NaN, Double.NaN, Double.NaN);
    }
    double mx = 0;
    double my = 0;
    for (int i = 0; i < n; i++) {
      mx += x[i];
      my += y[i];
    }
    mx /= n;
    my /= n;
    double sxx = 0;
    double sxy = 0;
    double syy = 0;
    for (int i = 0; i < n; i++) {
      sxx += (x[i] - mx) * (x[i] - mx);
      sxy += (x[i] - mx) * (y[i] - my);
      syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0) {
      return new LinearFit(Double.NaN, Double.NaN, Double.NaN);
    }
    double slope = sxy / sxx;
    double r2 = syy == 0 ? 1 : (sxy * sxy) / (sxx * syy);
    return new LinearFit(slope, my - slope * mx, r2);
  }
}
