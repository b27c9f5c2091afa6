//! The subset of TensorFlow's protobuf messages that TensorBoard event files hold, hand-written
//! with `prost` derives (no `protoc` at build time), as the ONNX exporter does
//! (`interop/onnx/proto.rs`). Field numbers and types follow TensorFlow's proto3 sources:
//! `tensorflow/core/util/event.proto` (`Event`), `core/framework/summary.proto` (`Summary`,
//! `HistogramProto`, `SummaryMetadata`), `graph.proto`, `node_def.proto`, `attr_value.proto`,
//! `tensor_shape.proto` and `versions.proto`. Members of a `oneof` that stratanet never
//! writes are left out; `prost` skips them when it reads a file that has them.

#![allow(missing_docs)]

use std::collections::BTreeMap;

/// `tensorflow.Event`: one record of an event file.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The global step (epoch or batch) of the summaries it holds.
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(oneof = "event::What", tags = "3, 4, 5")]
    pub what: Option<event::What>,
}

/// The `oneof what` of [`Event`].
pub mod event {
    /// What an [`Event`](super::Event) carries.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum What {
        /// The first record of every file: `brain.Event:2`.
        #[prost(string, tag = "3")]
        FileVersion(String),
        /// A serialized [`GraphDef`](super::GraphDef).
        #[prost(bytes = "vec", tag = "4")]
        GraphDef(Vec<u8>),
        /// Scalars and histograms.
        #[prost(message, tag = "5")]
        Summary(super::Summary),
    }
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<summary::Value>,
}

/// Nested messages of [`Summary`].
pub mod summary {
    /// `tensorflow.Summary.Value`: one tagged value.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Value {
        #[prost(string, tag = "7")]
        pub node_name: String,
        #[prost(string, tag = "1")]
        pub tag: String,
        #[prost(message, optional, tag = "9")]
        pub metadata: Option<super::SummaryMetadata>,
        #[prost(oneof = "value::Value", tags = "2, 5")]
        pub value: Option<value::Value>,
    }

    /// The `oneof value` of [`Value`].
    pub mod value {
        /// A scalar or a histogram.
        #[derive(Clone, PartialEq, ::prost::Oneof)]
        pub enum Value {
            /// A scalar (what `tf.compat.v1.summary.scalar` writes; TensorBoard's scalar
            /// dashboard and `EventAccumulator.Scalars` read it).
            #[prost(float, tag = "2")]
            SimpleValue(f32),
            /// A histogram.
            #[prost(message, tag = "5")]
            Histo(super::super::HistogramProto),
        }
    }
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<summary_metadata::PluginData>,
    #[prost(string, tag = "2")]
    pub display_name: String,
    #[prost(string, tag = "3")]
    pub summary_description: String,
}

/// Nested messages of [`SummaryMetadata`].
pub mod summary_metadata {
    /// `tensorflow.SummaryMetadata.PluginData`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct PluginData {
        #[prost(string, tag = "1")]
        pub plugin_name: String,
        #[prost(bytes = "vec", tag = "2")]
        pub content: Vec<u8>,
    }
}

/// `tensorflow.HistogramProto`: bucket `i` counts the values in
/// `[bucket_limit[i - 1], bucket_limit[i])` (`min` for the first left edge; the last bucket
/// also holds `max`).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct HistogramProto {
    #[prost(double, tag = "1")]
    pub min: f64,
    #[prost(double, tag = "2")]
    pub max: f64,
    #[prost(double, tag = "3")]
    pub num: f64,
    #[prost(double, tag = "4")]
    pub sum: f64,
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    #[prost(double, repeated, packed = "true", tag = "6")]
    pub bucket_limit: Vec<f64>,
    #[prost(double, repeated, packed = "true", tag = "7")]
    pub bucket: Vec<f64>,
}

/// `tensorflow.GraphDef`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GraphDef {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    #[prost(message, optional, tag = "4")]
    pub versions: Option<VersionDef>,
}

/// `tensorflow.NodeDef`: one op; `input` names the producers (`name`, or `name:k` for
/// output `k`).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeDef {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub op: String,
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    #[prost(string, tag = "4")]
    pub device: String,
    #[prost(btree_map = "string, message", tag = "5")]
    pub attr: BTreeMap<String, AttrValue>,
}

/// `tensorflow.VersionDef`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct VersionDef {
    #[prost(int32, tag = "1")]
    pub producer: i32,
    #[prost(int32, tag = "2")]
    pub min_consumer: i32,
}

/// `tensorflow.AttrValue`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct AttrValue {
    #[prost(oneof = "attr_value::Value", tags = "1, 2, 7")]
    pub value: Option<attr_value::Value>,
}

/// Nested messages of [`AttrValue`].
pub mod attr_value {
    /// The `oneof value` of [`AttrValue`](super::AttrValue).
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Value {
        /// A list (here: the `_output_shapes` of a node).
        #[prost(message, tag = "1")]
        List(ListValue),
        /// Bytes (here: UTF-8 text such as a layer's config JSON).
        #[prost(bytes = "vec", tag = "2")]
        S(Vec<u8>),
        /// A shape.
        #[prost(message, tag = "7")]
        Shape(super::TensorShapeProto),
    }

    /// `tensorflow.AttrValue.ListValue` (the members stratanet writes).
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct ListValue {
        #[prost(bytes = "vec", repeated, tag = "2")]
        pub s: Vec<Vec<u8>>,
        #[prost(message, repeated, tag = "7")]
        pub shape: Vec<super::TensorShapeProto>,
    }
}

/// `tensorflow.TensorShapeProto`: `size` -1 is an unknown dimension (the batch).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<tensor_shape_proto::Dim>,
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// Nested messages of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// `tensorflow.TensorShapeProto.Dim`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Dim {
        #[prost(int64, tag = "1")]
        pub size: i64,
        #[prost(string, tag = "2")]
        pub name: String,
    }
}
