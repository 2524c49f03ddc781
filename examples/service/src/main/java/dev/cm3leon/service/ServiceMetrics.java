package dev.cm3leon.service;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.cpu.CpuEngine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What {@code GET /metrics} shows, in Prometheus' text format: requests waiting and running, the model's active
 * streams and KV memory, tokens generated (their rate is tokens/s), and a latency histogram per endpoint and outcome.
 */
final class ServiceMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter tokens, disconnects;
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

    ServiceMetrics(Cm3Leon model, Admission admission) {
        Gauge.builder("cm3leon.queue.length", () -> admission.queued() + model.generationLoop().stats().waitingRequests())
                .description("requests waiting for the model").register(registry);
        Gauge.builder("cm3leon.requests.running", admission::running).description("requests handed to the model").register(registry);
        Gauge.builder("cm3leon.streams.active", () -> model.generationLoop().stats().runningStreams())
                .description("streams in the model's shared passes").register(registry);
        Gauge.builder("cm3leon.kv.bytes", () -> model.engine() instanceof CpuEngine cpu ? cpu.kvCacheBudget().reservedBytes() : Double.NaN)
                .description("bytes the running requests' KV caches hold").baseUnit("bytes").register(registry);
        Gauge.builder("cm3leon.passes", () -> model.generationLoop().stats().passes())
                .description("engine passes run since start").register(registry);
        tokens = Counter.builder("cm3leon.tokens.generated").description("tokens generated (rate: tokens/s)").register(registry);
        disconnects = Counter.builder("cm3leon.requests.disconnected")
                .description("streamed requests whose client went away, their generation cancelled").register(registry);
    }

    void disconnected() {
        disconnects.increment();
    }

    double disconnects() {
        return disconnects.count();
    }

    void tokens(int n) {
        tokens.increment(n);
    }

    /** Records one request's latency under its endpoint and outcome (an HTTP status). */
    void latency(String endpoint, int status, long nanos) {
        timers.computeIfAbsent(endpoint + " " + status, k -> Timer.builder("cm3leon.request")
                .description("request latency").tag("endpoint", endpoint).tag("status", String.valueOf(status))
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Mean latency of successful requests so far, for {@code Retry-After}. */
    long meanLatencyMillis() {
        double total = 0, count = 0;
        for (Timer t : timers.values()) {
            if (!"200".equals(t.getId().getTag("status"))) continue;
            total += t.totalTime(TimeUnit.MILLISECONDS);
            count += t.count();
        }
        return count == 0 ? 1000 : (long) (total / count);
    }

    String scrape() {
        return registry.scrape();
    }
}
