"""
The statistics every experiment reports, with no scipy: Student's t from its density, the mean with its
95% t-interval over seeds, a paired difference in words, and the seeds a paired t-test would need.
An interval here covers the spread between seeds only: each seed's figure is taken over one fixed val
split, so the split's own sampling error is not in it.
"""
import math

import numpy as np

def t_cdf(x, df, steps=2000):
    """P(T <= x) for Student's t with df degrees of freedom: Simpson's rule on the density from 0 to |x|"""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    t = np.linspace(0, abs(x), steps + 1)
    f = c * (1 + t * t / df) ** (-(df + 1) / 2)
    area = (t[1] - t[0]) / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
    return 0.5 + math.copysign(float(area), x)

def t_quantile(p, df):
    """the x with P(T <= x) = p, by bisection"""
    lo, hi = -100.0, 100.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2

def mean_ci(xs):
    """(mean, half-width of the 95% t-interval); the half-width is None for one value"""
    n, m = len(xs), sum(xs) / len(xs)
    if n < 2:
        return m, None
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, t_quantile(0.975, n - 1) * sd / math.sqrt(n)

def seeds_needed(diff, sd, power=0.8, cap=10_000):
    """the smallest n with (t_{0.975,n-1} + t_{power,n-1}) * sd / sqrt(n) <= |diff|: the seeds a paired
    t-test needs to detect a true difference diff at alpha 0.05 with this power (None beyond cap). The
    normal approximation, ((1.960 + 0.842) * sd / diff)^2, is a lower bound to start from"""
    if not diff or not sd:
        return None
    n = max(2, int(((1.959964 + 0.841621) * sd / abs(diff)) ** 2))
    while n <= cap and (t_quantile(0.975, n - 1) + t_quantile(power, n - 1)) * sd / math.sqrt(n) > abs(diff):
        n += 1
    return n if n <= cap else None

def paired(a, b):
    """a, b: {seed: value}. The mean of a - b over shared seeds, its interval, and what it says in words"""
    seeds = sorted(set(a) & set(b))
    d = [a[s] - b[s] for s in seeds]
    m, hw = mean_ci(d)
    sd = hw / t_quantile(0.975, len(d) - 1) * math.sqrt(len(d)) if hw is not None else None
    if hw is None:
        words = f"one seed: {m:+.3f}, no interval"
    elif abs(m) > hw:
        words = f"resolved: {m:+.3f} +- {hw:.3f}"
    else:
        words = f"not resolved: no difference larger than {abs(m) + hw:.3f} at this budget"
    return dict(seeds=seeds, mean=m, ci95=hw, sd=sd, words=words, seeds_needed=seeds_needed(m, sd))

def fmt(m, hw, digits=4, sign=False):
    """'m +- hw' as the tables print it ('m' alone where there is no interval); sign: a difference, '+' shown"""
    head = f"{m:+.{digits}f}" if sign else f"{m:.{digits}f}"
    return head if hw is None else f"{head} +- {hw:.{digits}f}"

def seeds_for_halfwidth(sd, halfwidth, cap=10_000):
    """the smallest n whose 95% t-interval, t_{0.975,n-1} * sd / sqrt(n), is at most halfwidth wide on each
    side, for paired differences of standard deviation sd (None beyond cap). The normal approximation,
    (1.960 * sd / halfwidth)^2, is a lower bound to start from"""
    n = max(2, int((1.959964 * sd / halfwidth) ** 2))
    while n <= cap and t_quantile(0.975, n - 1) * sd / math.sqrt(n) > halfwidth:
        n += 1
    return n if n <= cap else None
