/** Every generated message, enum and service of `rtcconsole.v1` (protos/rtcconsole/v1). */

export * from "./gen/rtcconsole/v1/app_service_pb.js";
export * from "./gen/rtcconsole/v1/auth_service_pb.js";
export * from "./gen/rtcconsole/v1/call_details_pb.js";
export * from "./gen/rtcconsole/v1/common_pb.js";
export * from "./gen/rtcconsole/v1/config_service_pb.js";
export * from "./gen/rtcconsole/v1/ingest_service_pb.js";
export * from "./gen/rtcconsole/v1/monitor_service_pb.js";
export * from "./gen/rtcconsole/v1/options_pb.js";
export * from "./gen/rtcconsole/v1/quality_pb.js";
export * from "./gen/rtcconsole/v1/quality_series_pb.js";
export * from "./gen/rtcconsole/v1/realtime_pb.js";
export * from "./gen/rtcconsole/v1/realtime_stream_pb.js";
export * from "./gen/rtcconsole/v1/room_control_pb.js";
export * from "./gen/rtcconsole/v1/room_event_stream_pb.js";
export * from "./gen/rtcconsole/v1/usage_service_pb.js";
