// spanlens parse worker. Started by src/worker/mod.rs as a module worker, one per load (cancel =
// terminate). It instantiates the app's own compiled wasm module (sent by the page, so nothing
// is fetched or compiled twice) and calls the core through the `SetLoader` export: bytes in,
// an assembled TraceSet (postcard) + diagnostics (JSON) out, with progress messages meanwhile.
// No trace parsing happens in this file: it only reads files and forwards bytes.
self.onmessage = async (event) => {
  const { module, js, jobs } = event.data;
  try {
    const bindings = await import(js);
    await bindings.default({ module_or_path: module });
    const loader = new bindings.SetLoader();
    const total = jobs.reduce((n, j) => n + (j.file ? j.file.size : j.bytes ? j.bytes.length : (j.text || '').length), 0);
    let done = 0;
    const names = [];
    for (const job of jobs) {
      let bytes;
      if (job.file) {
        bytes = new Uint8Array(job.file.size);
        const reader = job.file.stream().getReader();
        let at = 0;
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          bytes.set(value, at);
          at += value.length;
          self.postMessage({ type: 'progress', name: job.name, bytes: done + at, total, spans: loader.span_count(), phase: 'reading' });
        }
      } else if (job.bytes) {
        bytes = job.bytes;
      } else {
        bytes = new TextEncoder().encode(job.text || '');
      }
      done += bytes.length;
      self.postMessage({ type: 'progress', name: job.name, bytes: done, total, spans: loader.span_count(), phase: 'parsing' });
      try {
        loader.add(bytes, job.name);
        names.push(job.name);
      } catch (err) {
        self.postMessage({ type: 'fileError', name: job.name, message: String(err && err.message ? err.message : err) });
      }
      self.postMessage({ type: 'progress', name: job.name, bytes: done, total, spans: loader.span_count(), phase: 'parsed' });
    }
    if (names.length === 0) {
      self.postMessage({ type: 'done', set: null, names });
      return;
    }
    self.postMessage({ type: 'progress', name: '', bytes: done, total, spans: loader.span_count(), phase: 'assembling' });
    const set = loader.finish();
    const diagnostics = loader.diagnostics_json();
    self.postMessage({ type: 'done', set, diagnostics, names }, [set.buffer]);
  } catch (err) {
    self.postMessage({ type: 'fatal', message: String(err && err.message ? err.message : err) });
  }
};
