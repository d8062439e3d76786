//! Any bytes through the model loader: no panic, and a model that loads is
//! consistent with its own shape.
#![no_main]

use std::path::Path;

use fashion_nn::model::load_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = load_bytes(data, Path::new("fuzz-input.safetensors")) {
        let s = m.params.shape;
        assert_eq!(s.inputs, m.rows * m.cols);
        assert_eq!(m.params.w1.len(), s.hidden * s.inputs);
        assert_eq!(m.params.b1.len(), s.hidden);
        assert_eq!(m.params.w2.len(), s.classes * s.hidden);
        assert_eq!(m.params.b2.len(), s.classes);
        assert_eq!(m.stats.mean.len(), s.inputs);
        assert_eq!(m.stats.inv_std.len(), s.inputs);
        assert_eq!(m.class_names.len(), s.classes);
    }
});
