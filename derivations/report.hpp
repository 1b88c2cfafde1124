// A derivation report as data, and its renderers.
//
// A derivation builds a Report (sections of blocks: paragraphs with inline
// math, numbered display equations, derivation steps, tables, figures,
// verdicts, code) and the renderers turn the same Report into text for the
// terminal, GitHub Markdown, a standalone LaTeX document, one self-contained
// HTML page with MathML, or JSON. Every renderer is a pure function: the same
// report gives byte-identical output.
//
// Equations: every DisplayMath is numbered (1), (2), … in document order
// (depth first: a section's blocks, then its subsections). A DisplayMath with
// a label can be referred to from a paragraph with ref("label"); rendering a
// reference to an unknown label throws std::invalid_argument.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/proof.hpp"

namespace ddx::report {

// A formula: its LaTeX source and a plain-Unicode form for text output.
struct Math {
  std::string latex;
  std::string text;
};

// Inline runs of a paragraph.
struct Text { std::string text; };
struct Code { std::string text; };      // inline code, monospace
struct Emphasis { std::string text; };
struct Ref { std::string label; };      // "(n)", the number of the labelled equation
using Inline = std::variant<Text, Math, Code, Emphasis, Ref>;

struct Paragraph {
  std::vector<Inline> runs;
};

struct DisplayMath {
  Math math;
  std::string label;  // "" for none; the equation is numbered either way
};

// One step of a derivation (engine/proof.hpp's ProofStep).
struct Step {
  std::string rule;     // e.g. "delta-contraction"
  Math before;          // shown when it is not the previous step's `after` (empty: not shown)
  Math after;           // the formula after the step
  std::string uses;     // the hypothesis or fact it relies on, "" for none
  std::optional<bool> check_passed;  // the numeric check: nullopt when there is none
  std::string check;    // what was checked
};

struct Steps {
  std::vector<Step> steps;
};

using Cell = std::variant<std::string, Math>;

struct Row {
  std::vector<Cell> cells;
  std::optional<bool> passed;  // a verdict per row (styled pass/fail), nullopt for none
};

struct Table {
  std::string caption;
  std::vector<std::string> header;
  std::vector<Row> rows;
};

struct Figure {
  std::string caption;
  std::string dot;  // Graphviz DOT source (derivations/graph_figure.hpp to_dot)
  std::string svg;  // optional: dot_to_svg's output ("" when graphviz is not available)
};

struct Verdict {
  bool passed = false;
  std::string text;
};

// A preformatted block (program output, a command line, source).
struct CodeBlock {
  std::string text;
  std::string language;  // "" or e.g. "sh", "dot", "json"
};

using Block = std::variant<Paragraph, DisplayMath, Steps, Table, Figure, Verdict, CodeBlock>;

struct Section {
  std::string title;
  std::vector<Block> blocks;
  std::vector<Section> subsections;

  // Builders: section.add(paragraph(...)).add(display(...)); returns *this.
  Section& add(Block block) {
    blocks.push_back(std::move(block));
    return *this;
  }
  // Appends a subsection and returns it (the reference is valid until the next one is added).
  Section& subsection(std::string sub_title) {
    subsections.push_back(Section{.title = std::move(sub_title)});
    return subsections.back();
  }
};

struct Report {
  std::string name;     // machine name, e.g. "softmax-ce"
  std::string title;
  std::string summary;  // one paragraph of plain text
  std::vector<Section> sections;

  Section& section(std::string section_title) {
    sections.push_back(Section{.title = std::move(section_title)});
    return sections.back();
  }
};

// ---- small builders -------------------------------------------------------

inline Math math(std::string latex, std::string text) { return Math{std::move(latex), std::move(text)}; }
inline Text text(std::string t) { return Text{std::move(t)}; }
inline Code code(std::string t) { return Code{std::move(t)}; }
inline Emphasis emph(std::string t) { return Emphasis{std::move(t)}; }
inline Ref ref(std::string label) { return Ref{std::move(label)}; }

// paragraph("The gradient is ", math("p - y", "p − y"), " (see ", ref("grad"), ").")
// Plain strings become Text runs.
template <typename... Runs>
Paragraph paragraph(Runs&&... runs) {
  Paragraph p;
  auto push = [&p](auto&& r) {
    using R = std::decay_t<decltype(r)>;
    if constexpr (std::is_convertible_v<R, std::string_view> && !std::is_same_v<R, Inline>)
      p.runs.emplace_back(Text{std::string(std::string_view(r))});
    else
      p.runs.emplace_back(std::forward<decltype(r)>(r));
  };
  (push(std::forward<Runs>(runs)), ...);
  return p;
}

inline DisplayMath display(Math m, std::string label = "") { return DisplayMath{std::move(m), std::move(label)}; }
inline Verdict verdict(bool passed, std::string t) { return Verdict{passed, std::move(t)}; }
inline CodeBlock code_block(std::string t, std::string language = "") {
  return CodeBlock{std::move(t), std::move(language)};
}

// True when every Verdict in the report (sections and subsections) passed.
bool all_verdicts_pass(const Report& report);

// A proof's steps: rule, before/after (text and LaTeX), uses, numeric check.
Steps steps_from_proof(const Proof& proof);

// ---- renderers -------------------------------------------------------------

std::string render_text(const Report& report);      // terminal: Unicode math, aligned tables
std::string render_markdown(const Report& report);  // GitHub Markdown
std::string render_latex(const Report& report);     // standalone pdflatex document, ASCII only
std::string render_html(const Report& report);      // one self-contained page, MathML, no script
std::string render_json(const Report& report);      // the structure (nlohmann::ordered_json, 2-space indent)

// The known formats, in the order they are listed in messages.
const std::vector<std::string>& formats();  // text, md, tex, html, json

// Throws InputError "--format: 'pdf' is not one of text, md, tex, html, json"
// for a format render does not know.
void require_format(std::string_view format);

// render(report, "html"). Throws InputError (a std::invalid_argument) naming
// the known formats for any other format.
std::string render(const Report& report, std::string_view format);

// ---- helpers, exposed for tests and other renderers ------------------------

// Plain text for LaTeX text mode: escapes # $ % & _ { } ~ ^ \ and maps every
// non-ASCII character to ASCII LaTeX (Greek and math symbols to $\cmd$,
// subscript digits ₁ to $_{1}$, − to -, — to ---, ḡ to $\bar{g}$, …); a
// character it does not know becomes "?". The result is pure ASCII.
std::string latex_escape_text(std::string_view text);

// The same mapping for math mode (a formula's LaTeX source that contains
// Unicode, e.g. a name "∂L/∂z" or the "…" of an abbreviated formula): ASCII
// passes through unchanged, Unicode becomes LaTeX commands.
std::string latex_math_ascii(std::string_view latex);

// Width of UTF-8 text in terminal columns (combining marks take none).
std::size_t display_width(std::string_view text);

}  // namespace ddx::report
