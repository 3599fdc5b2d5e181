//! The WGSL sources in `shaders/`, each prefixed with `common.wgsl`, and their naga validation.

/// The shared prelude concatenated in front of every module.
pub const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// A shader file and its source.
#[derive(Debug, Clone, Copy)]
pub struct ShaderFile {
    pub name: &'static str,
    pub body: &'static str,
    /// Source put in front of the prelude: enable directives and the aliases a file's
    /// variant defines (`""` for most files).
    pub header: &'static str,
}

pub const BLUR: ShaderFile = ShaderFile {
    name: "blur.wgsl",
    body: include_str!("../../shaders/blur.wgsl"),
    header: "",
};
pub const UNPACK: ShaderFile = ShaderFile {
    name: "unpack.wgsl",
    body: include_str!("../../shaders/unpack.wgsl"),
    header: "",
};
pub const MASK: ShaderFile = ShaderFile {
    name: "mask.wgsl",
    body: include_str!("../../shaders/mask.wgsl"),
    header: "",
};
pub const COMPOSITE: ShaderFile = ShaderFile {
    name: "composite.wgsl",
    body: include_str!("../../shaders/composite.wgsl"),
    header: "",
};
pub const RESIZE: ShaderFile = ShaderFile {
    name: "resize.wgsl",
    body: include_str!("../../shaders/resize.wgsl"),
    header: "",
};
pub const CONVERT: ShaderFile = ShaderFile {
    name: "convert.wgsl",
    body: include_str!("../../shaders/convert.wgsl"),
    header: "",
};
pub const LABEL: ShaderFile = ShaderFile {
    name: "label.wgsl",
    body: include_str!("../../shaders/label.wgsl"),
    header: "",
};

pub const PAINT: ShaderFile = ShaderFile {
    name: "paint.wgsl",
    body: include_str!("../../shaders/paint.wgsl"),
    header: "",
};
pub const TEXT: ShaderFile = ShaderFile {
    name: "text.wgsl",
    body: include_str!("../../shaders/text.wgsl"),
    header: "",
};

pub const ROTATE: ShaderFile = ShaderFile {
    name: "rotate.wgsl",
    body: include_str!("../../shaders/rotate.wgsl"),
    header: "",
};
/// The intro card's layers and flash, into the reel's YUV frame (contract §15).
pub const CARD: ShaderFile = ShaderFile {
    name: "card.wgsl",
    body: include_str!("../../shaders/card.wgsl"),
    header: "",
};

/// HDR to SDR, the first pass of an HDR source's frames (contract §17).
pub const TONEMAP: ShaderFile = ShaderFile {
    name: "tonemap.wgsl",
    body: include_str!("../../shaders/tonemap.wgsl"),
    header: "",
};

pub const MIX: ShaderFile = ShaderFile {
    name: "mix.wgsl",
    body: include_str!("../../shaders/mix.wgsl"),
    header: "",
};

/// The neural networks' kernels (src/nn/), f32 storage: nn.wgsl's tensor operations, then
/// each model's own kernels (yolo.wgsl, sr.wgsl), which call nn.wgsl's convolution.
pub const NN: ShaderFile = ShaderFile {
    name: "nn.wgsl",
    body: concat!(
        include_str!("../../shaders/nn.wgsl"),
        "\n",
        include_str!("../../shaders/yolo.wgsl"),
        "\n",
        include_str!("../../shaders/sr.wgsl"),
    ),
    header: "alias act = f32;\n",
};

/// The same with f16 activations and weights (adapters with shader-f16).
pub const NN_F16: ShaderFile = ShaderFile {
    name: "nn.wgsl (f16)",
    body: NN.body,
    header: "enable f16;\nalias act = f16;\n",
};

/// nn_coop.wgsl's header for storage `act` (`f32` or `f16`, with its `enable`) and matrices of
/// `side` (8 or 16): A and B of the storage type, the accumulator f32.
macro_rules! coop_header {
    ($enable:literal, $act:literal, $side:literal) => {
        concat!(
            $enable,
            "enable wgpu_cooperative_matrix;\nalias act = ",
            $act,
            ";\nconst COOP: u32 = ",
            $side,
            "u;\nalias coop_a = coop_mat",
            $side,
            "x",
            $side,
            "<",
            $act,
            ", A>;\nalias coop_b = coop_mat",
            $side,
            "x",
            $side,
            "<",
            $act,
            ", B>;\nalias coop_c = coop_mat",
            $side,
            "x",
            $side,
            "<f32, C>;\n"
        )
    };
}

/// The 3x3 convolution over bordered tensors on cooperative matrices (nn_coop.wgsl), one
/// variant per storage type and matrix side an adapter may offer.
pub const NN_COOP_F32_8: ShaderFile = ShaderFile {
    name: "nn_coop.wgsl",
    body: include_str!("../../shaders/nn_coop.wgsl"),
    header: coop_header!("", "f32", "8"),
};
pub const NN_COOP_F32_16: ShaderFile = ShaderFile {
    name: "nn_coop.wgsl (f32, 16x16)",
    body: NN_COOP_F32_8.body,
    header: coop_header!("", "f32", "16"),
};
pub const NN_COOP_F16_8: ShaderFile = ShaderFile {
    name: "nn_coop.wgsl (f16, 8x8)",
    body: NN_COOP_F32_8.body,
    header: coop_header!("enable f16;\n", "f16", "8"),
};
pub const NN_COOP_F16_16: ShaderFile = ShaderFile {
    name: "nn_coop.wgsl (f16, 16x16)",
    body: NN_COOP_F32_8.body,
    header: coop_header!("enable f16;\n", "f16", "16"),
};

/// The cooperative-matrix variant for f16 (or f32) storage and matrices of `side`.
pub fn nn_coop(f16: bool, side: u32) -> Option<ShaderFile> {
    match (f16, side) {
        (false, 8) => Some(NN_COOP_F32_8),
        (false, 16) => Some(NN_COOP_F32_16),
        (true, 8) => Some(NN_COOP_F16_8),
        (true, 16) => Some(NN_COOP_F16_16),
        _ => None,
    }
}

/// Every shader file of the crate (and every variant of one).
pub const ALL: [ShaderFile; 19] = [
    CARD,
    TONEMAP,
    NN,
    NN_F16,
    BLUR,
    UNPACK,
    MASK,
    COMPOSITE,
    RESIZE,
    CONVERT,
    LABEL,
    PAINT,
    TEXT,
    ROTATE,
    MIX,
    NN_COOP_F32_8,
    NN_COOP_F32_16,
    NN_COOP_F16_8,
    NN_COOP_F16_16,
];

/// The value of the `u32` constant `name` in `shader` (tests tie dispatch sizes to it).
pub fn wgsl_u32_constant(shader: &ShaderFile, name: &str) -> u32 {
    let module = shader.validate().expect("shaders validate");
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} in {}", shader.name));
    match module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => v,
        ref other => panic!("{name} is {other:?}"),
    }
}

impl ShaderFile {
    /// The module source as compiled: prelude + body.
    pub fn source(&self) -> String {
        format!("{}{COMMON}\n{}", self.header, self.body)
    }

    /// Whether the file needs the shader-f16 feature.
    pub fn needs_f16(&self) -> bool {
        self.header.contains("enable f16;")
    }

    /// Whether the file needs cooperative matrices (`EXPERIMENTAL_COOPERATIVE_MATRIX`).
    pub fn needs_coop(&self) -> bool {
        self.header.contains("enable wgpu_cooperative_matrix;")
    }

    /// Parses and validates the module with naga, returning a readable error.
    pub fn validate(&self) -> Result<naga::Module, String> {
        self.validate_with_info().map(|(m, _)| m)
    }

    /// [`Self::validate`], with the validator's module info (for naga's backends).
    pub fn validate_with_info(&self) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
        let source = self.source();
        let module = naga::front::wgsl::parse_str(&source)
            .map_err(|e| e.emit_to_string_with_path(&source, self.name))?;
        let mut caps = naga::valid::Capabilities::default();
        if self.needs_f16() {
            caps |= naga::valid::Capabilities::SHADER_FLOAT16;
        }
        if self.needs_coop() {
            caps |= naga::valid::Capabilities::COOPERATIVE_MATRIX;
        }
        let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&module)
            .map_err(|e| e.emit_to_string_with_path(&source, self.name))?;
        Ok((module, info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shader_file_validates_with_naga() {
        for file in ALL {
            if let Err(e) = file.validate() {
                panic!("{} failed naga validation:\n{e}", file.name);
            }
        }
    }

    /// naga's SPIR-V backend (what wgpu's Vulkan backend runs) writes every file, the
    /// cooperative-matrix variants included (SPIR-V 1.6, `SPV_KHR_cooperative_matrix`), so
    /// a kernel that no adapter here can run still compiles to what a GPU would be given.
    #[test]
    fn every_shader_file_compiles_to_spirv() {
        for file in ALL {
            let (module, info) = file.validate_with_info().unwrap();
            // wgpu's Vulkan backend: indices restricted; buffers restricted unless the
            // device has robustBufferAccess2 (NVIDIA's has)
            use naga::proc::{BoundsCheckPolicies, BoundsCheckPolicy::*};
            let mut words = Vec::new();
            for buffer in [Restrict, Unchecked] {
                let options = naga::back::spv::Options {
                    lang_version: if file.needs_coop() { (1, 6) } else { (1, 3) },
                    bounds_check_policies: BoundsCheckPolicies {
                        index: Restrict,
                        buffer,
                        image_load: Restrict,
                        binding_array: Unchecked,
                    },
                    ..Default::default()
                };
                words = naga::back::spv::write_vec(&module, &info, &options, None)
                    .unwrap_or_else(|e| panic!("{}: {e}", file.name));
            }
            assert_eq!(words[0], 0x0723_0203, "{}: not SPIR-V", file.name);
            if file.needs_coop() {
                // OpCooperativeMatrixMulAddKHR (4459) is in the module
                assert!(
                    words.iter().any(|w| w & 0xffff == 4459),
                    "{}: no cooperative multiply-add",
                    file.name
                );
            }
        }
    }

    fn entry_path(dir: &str, name: &str) -> std::path::PathBuf {
        std::path::Path::new(dir).join(name)
    }

    #[test]
    fn every_wgsl_file_on_disk_is_compiled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".wgsl") && name != "common.wgsl" {
                // a file of its own, or a part of one (nn.wgsl's models' kernels)
                let text = std::fs::read_to_string(entry_path(dir, &name)).unwrap();
                assert!(
                    ALL.iter().any(|f| f.name == name || f.body.contains(&text)),
                    "{name} is not listed in gpu::shaders::ALL"
                );
            }
        }
    }
}
