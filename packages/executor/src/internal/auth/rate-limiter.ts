/**
 * A token bucket per API key: `burst` requests at once, refilled at
 * `perSecond`. In memory, per executor process: with N replicas behind a
 * load balancer a key may reach up to N times the rate.
 */

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added per second; 0 turns the limiter off. */
  perSecond: number;
  /** Bucket size; 0 means `max(1, ceil(perSecond))`. */
  burst: number;
  /** Clock in ms. @defaultValue Date.now */
  now?: () => number;
  /** Most buckets kept; idle full ones are dropped first. @defaultValue 10000 */
  maxBuckets?: number;
}

/** The answer for one request. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key id. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly maxBuckets: number;

  constructor(options: RateLimiterOptions) {
    this.perMs = options.perSecond / 1000;
    this.capacity = options.burst > 0 ? options.burst : Math.max(1, Math.ceil(options.perSecond));
    this.now = options.now ?? Date.now;
    this.maxBuckets = options.maxBuckets ?? 10_000;
  }

  /** Whether the limiter limits anything. */
  get enabled(): boolean {
    return this.perMs > 0;
  }

  /** Takes one token from `key`'s bucket, or says how long until one is there. */
  take(key: string): RateDecision {
    if (!this.enabled) return { allowed: true };
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.capacity, at: now };
      this.evict();
    } else {
      bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
      this.buckets.delete(key);
    }
    // Re-inserted: the map's order is least recently used first.
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)) };
  }

  private evict(): void {
    while (this.buckets.size >= this.maxBuckets) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) return;
      this.buckets.delete(oldest.value);
    }
  }
}
