// LaTeX → MathML for the subset of LaTeX ddx emits (engine/symbolic/print.cpp,
// engine/index/index_expr.cpp, engine/rational.cpp, the prover's step
// formulas): \frac, ^ and _ (braced or one token), \sum/\prod/\lim with
// limits, \partial, \delta and the other Greek letters, \log/\exp/\ln/...,
// \left…\right with ( ) [ ] \{ \} | ., \cdot \times \ne \le \ge \approx \to
// \ldots, \bar \tilde \hat \vec \overline, \text \mathrm \operatorname
// \mathbf, \sqrt, spaces (\, \: \; \! \quad \qquad "\ "), the environments
// cases, matrix, pmatrix, bmatrix, and plain Unicode (ddx's names may be
// "∂L/∂z", and abbreviated formulas contain "…").
//
// Nothing is dropped silently: an unknown command becomes
// <mtext class="unknown">\name</mtext> and is listed in `problems`, so a test
// can assert that everything the engine emits converts. Unbalanced braces and
// nesting deeper than a fixed limit are reported the same way (the parser is
// recursive, so its depth is bounded; beyond it the source is shown as text).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ddx {

struct MathML {
  std::string xml;                    // one <math> element
  std::vector<std::string> problems;  // e.g. "unknown command \foo"; empty when all converted
};

// `display` gives <math display="block">. `alttext` (the plain-Unicode form)
// goes into the alttext attribute when not empty; the LaTeX source is kept in
// an <annotation encoding="application/x-tex">.
MathML latex_to_mathml(std::string_view latex, bool display = false, std::string_view alttext = "");

// The text with & < > " escaped for XML/HTML content and attributes.
std::string xml_escape(std::string_view text);

}  // namespace ddx
