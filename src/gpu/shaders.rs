//! The WGSL sources in `shaders/`, each prefixed with `common.wgsl`, and their naga validation.

/// The shared prelude concatenated in front of every module.
pub const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// A shader file and its source.
#[derive(Debug, Clone, Copy)]
pub struct ShaderFile {
    pub name: &'static str,
    pub body: &'static str,
}

pub const BLUR: ShaderFile = ShaderFile {
    name: "blur.wgsl",
    body: include_str!("../../shaders/blur.wgsl"),
};
pub const UNPACK: ShaderFile = ShaderFile {
    name: "unpack.wgsl",
    body: include_str!("../../shaders/unpack.wgsl"),
};
pub const MASK: ShaderFile = ShaderFile {
    name: "mask.wgsl",
    body: include_str!("../../shaders/mask.wgsl"),
};
pub const COMPOSITE: ShaderFile = ShaderFile {
    name: "composite.wgsl",
    body: include_str!("../../shaders/composite.wgsl"),
};
pub const RESIZE: ShaderFile = ShaderFile {
    name: "resize.wgsl",
    body: include_str!("../../shaders/resize.wgsl"),
};
pub const CONVERT: ShaderFile = ShaderFile {
    name: "convert.wgsl",
    body: include_str!("../../shaders/convert.wgsl"),
};
pub const LABEL: ShaderFile = ShaderFile {
    name: "label.wgsl",
    body: include_str!("../../shaders/label.wgsl"),
};

pub const PAINT: ShaderFile = ShaderFile {
    name: "paint.wgsl",
    body: include_str!("../../shaders/paint.wgsl"),
};
pub const TEXT: ShaderFile = ShaderFile {
    name: "text.wgsl",
    body: include_str!("../../shaders/text.wgsl"),
};

pub const ROTATE: ShaderFile = ShaderFile {
    name: "rotate.wgsl",
    body: include_str!("../../shaders/rotate.wgsl"),
};
pub const MIX: ShaderFile = ShaderFile {
    name: "mix.wgsl",
    body: include_str!("../../shaders/mix.wgsl"),
};

pub const SR: ShaderFile = ShaderFile {
    name: "sr.wgsl",
    body: include_str!("../../shaders/sr.wgsl"),
};

/// Every shader file of the crate.
pub const ALL: [ShaderFile; 12] = [
    BLUR, UNPACK, MASK, COMPOSITE, RESIZE, CONVERT, LABEL, PAINT, TEXT, ROTATE, MIX, SR,
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
        format!("{COMMON}\n{}", self.body)
    }

    /// Parses and validates the module with naga, returning a readable error.
    pub fn validate(&self) -> Result<naga::Module, String> {
        let source = self.source();
        let module = naga::front::wgsl::parse_str(&source)
            .map_err(|e| e.emit_to_string_with_path(&source, self.name))?;
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
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
