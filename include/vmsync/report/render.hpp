#pragma once
// Renderers of a DriftReport: the versioned JSON/YAML document (schema: docs/report-schema.json) and the table
// for people. They write to a stream and never decide exit codes; the caller sorts the report (sort_report) and
// decides colour (NO_COLOR, tty) before calling.
#include "vmsync/model/drift.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace vmsync::report {

enum class Format { Table, Json, Yaml };

struct RenderOptions {
  Format format = Format::Table;
  bool wide = false;       // table: add WORKLOAD, SOURCE and EVIDENCE columns
  bool summary = false;    // table: one row per consumer instead of one per pod
  bool no_headers = false; // table: no column headers, no cluster lines, no summary line; rows carry CLUSTER
  bool color = false;      // table: ANSI colours on statuses
};

inline constexpr const char *kApiVersion = "vmsync.io/v1";
inline constexpr const char *kKind = "DriftReport";

// The report document, keys in contract order. See docs/report-schema.json.
nlohmann::ordered_json to_json(const model::DriftReport &r);

void render_json(const model::DriftReport &r, std::ostream &out); // 2-space indent, trailing newline
void render_yaml(const model::DriftReport &r, std::ostream &out); // the same tree through yaml-cpp's emitter
void render_table(const model::DriftReport &r, const RenderOptions &o, std::ostream &out);

// Dispatches on o.format.
void render(const model::DriftReport &r, const RenderOptions &o, std::ostream &out);

// "3 clusters: 1 in sync, 2 drifted; 4 of 20 pods stale" (unknown/failed parts only when non-zero).
std::string summary_line(const model::Summary &s);

} // namespace vmsync::report
