// spanlens analysis worker. Started by src/views/set_analysis.rs, one per analysis request
// (a newer request terminates the older worker). Like worker.js it instantiates the app's own
// compiled wasm module, then calls the core through the `SetAnalysisJob` export: the assembled
// set (postcard bytes, as the load worker produced them) and the category rules text in, the
// core's SetAnalysis (postcard bytes) out, with the time of each phase.
// No analysis happens in this file: it only forwards bytes.
self.onmessage = async (event) => {
  const { module, js, set, rules, id } = event.data;
  try {
    const t0 = performance.now();
    const bindings = await import(js);
    await bindings.default({ module_or_path: module });
    const t1 = performance.now();
    const job = new bindings.SetAnalysisJob(set, rules || '');
    const result = job.take_result();
    const timings = { init: t1 - t0, decode: job.decode_ms(), analyze: job.analyze_ms(), encode: job.encode_ms(), total: performance.now() - t0 };
    job.free();
    self.postMessage({ type: 'done', id, result, timings }, [result.buffer]);
  } catch (err) {
    self.postMessage({ type: 'error', id, message: String(err && err.message ? err.message : err) });
  }
};
