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
pub const MIX: ShaderFile = ShaderFile {
    name: "mix.wgsl",
    body: include_str!("../../shaders/mix.wgsl"),
    header: "",
};

pub const SR: ShaderFile = ShaderFile {
    name: "sr.wgsl",
    body: include_str!("../../shaders/sr.wgsl"),
    header: "alias act = f32;\n",
};

/// The AI ×4 upscaler with f16 activations and weights (adapters with shader-f16).
pub const SR_F16: ShaderFile = ShaderFile {
    name: "sr.wgsl (f16)",
    body: SR.body,
    header: "enable f16;\nalias act = f16;\n",
};

/// Every shader file of the crate (and every variant of one).
pub const ALL: [ShaderFile; 13] = [
    BLUR, UNPACK, MASK, COMPOSITE, RESIZE, CONVERT, LABEL, PAINT, TEXT, ROTATE, MIX, SR, SR_F16,
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

    /// Parses and validates the module with naga, returning a readable error.
    pub fn validate(&self) -> Result<naga::Module, String> {
        let source = self.source();
        let module = naga::front::wgsl::parse_str(&source)
            .map_err(|e| e.emit_to_string_with_path(&source, self.name))?;
        let caps = match self.needs_f16() {
            true => naga::valid::Capabilities::SHADER_FLOAT16,
            false => naga::valid::Capabilities::default(),
        };
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&module)
            .map_err(|e| e.emit_to_string_with_path(&source, self.name))?;
        Ok(module)
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

    #[test]
    fn every_wgsl_file_on_disk_is_compiled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".wgsl") && name != "common.wgsl" {
                assert!(
                    ALL.iter().any(|f| f.name == name),
                    "{name} is not listed in gpu::shaders::ALL"
                );
            }
        }
    }
}
