// spanlens analysis worker. Started by src/views/set_analysis.rs once per loaded set (a new
// load terminates it). Like worker.js it instantiates the app's own compiled wasm module; it
// decodes the set once through the `SetAnalyzer` export ('load', right after the load finishes,
// in the background) and answers each 'analyze' request (a rules text) with the core's
// SetAnalysis as postcard bytes, plus the time of each phase; each 'trace' request (a trace
// index) with that trace's TraceAnalysis, so a trace page never analyses on the main thread.
// No analysis happens in this file: it only forwards bytes.
let analyzer = null;
let ready = null;
self.onmessage = async (event) => {
  const m = event.data;
  if (m.type === 'load') {
    ready = (async () => {
      const t0 = performance.now();
      const bindings = await import(m.js);
      await bindings.default({ module_or_path: m.module });
      const t1 = performance.now();
      analyzer = new bindings.SetAnalyzer(m.set);
      return { init: t1 - t0, decode: analyzer.decode_ms() };
    })();
    ready.catch(() => {});
    return;
  }
  if (m.type === 'trace') {
    try {
      await ready;
      const result = analyzer.analyze_trace(m.trace);
      self.postMessage({ type: 'traceDone', id: m.id, result }, [result.buffer]);
    } catch (err) {
      self.postMessage({ type: 'traceError', id: m.id, message: String(err && err.message ? err.message : err) });
    }
    return;
  }
  if (m.type === 'analyze') {
    try {
      const t0 = performance.now();
      const first = await ready;
      const waited = performance.now() - t0;
      const result = analyzer.analyze(m.rules || '');
      const timings = { ...first, waitedForDecode: waited, analyze: analyzer.analyze_ms(), encode: analyzer.encode_ms(), total: performance.now() - t0 };
      self.postMessage({ type: 'done', id: m.id, result, timings }, [result.buffer]);
    } catch (err) {
      self.postMessage({ type: 'error', id: m.id, message: String(err && err.message ? err.message : err) });
    }
  }
};
