use fashion_nn::backend::gpu::context::Api;
use fashion_nn::backend::gpu::GpuBackend;
use fashion_nn::backend::{Backend, Split};
use fashion_nn::data::{Dataset, Standardizer};
use fashion_nn::model::{Hyper, Params, Shape};

#[test]
fn smoke() {
    let (n, d, c) = (500usize, 20usize, 3usize);
    let mut pixels = vec![0u8; n * d];
    let mut labels = vec![0u8; n];
    for i in 0..n {
        let y = (i * 7 % c) as u8;
        labels[i] = y;
        for j in 0..d {
            pixels[i * d + j] = if j % c == y as usize {
                200
            } else {
                ((i * 31 + j * 17) % 50) as u8
            };
        }
    }
    let data = Dataset {
        count: n,
        rows: 4,
        cols: 5,
        classes: c,
        pixels,
        labels,
    };
    let mut stats = Standardizer::identity(d);
    stats.mean.iter_mut().for_each(|m| *m = 60.0);
    stats.inv_std.iter_mut().for_each(|s| *s = 1.0 / 60.0);
    let mut gpu = GpuBackend::new(Api::Vulkan).unwrap();
    gpu.upload(Split::Train, &data, &stats).unwrap();
    gpu.set_params(&Params::init(
        Shape {
            inputs: d,
            hidden: 9,
            classes: c,
        },
        0.3,
        1,
    ))
    .unwrap();
    let hyper = Hyper {
        lr: 0.5,
        l1: 0.0,
        l2: 0.0,
        batch_size: 33,
    };
    for _ in 0..5 {
        let s = gpu.train_epoch(&hyper).unwrap();
        eprintln!("{s:?}");
    }
    let e = gpu.evaluate(Split::Train).unwrap();
    eprintln!("{} {}", e.loss, e.accuracy);
    assert!(e.accuracy > 0.9);
}
