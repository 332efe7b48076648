-- wrk calls done() once at the end; print the whole result as one JSON line so the harness
-- reads numbers, not wrk's text report. Latencies are in microseconds here, milliseconds out.
done = function(summary, latency, requests)
  local function ms(us) return us / 1000.0 end
  io.write("WRK_JSON ")
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_ms":{"min":%.3f,"mean":%.3f,"stdev":%.3f,"max":%.3f,' ..
    '"p50":%.3f,"p75":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f}}\n',
    summary.duration, summary.requests, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    ms(latency.min), ms(latency.mean), ms(latency.stdev), ms(latency.max),
    ms(latency:percentile(50)), ms(latency:percentile(75)), ms(latency:percentile(90)),
    ms(latency:percentile(99)), ms(latency:percentile(99.9))))
end
