#include "derivations/graph_figure.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "engine/op.hpp"

extern char** environ;

namespace ddx {

std::string dot_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

std::string abbreviate_elements(std::span<const std::string> elements, std::size_t max_elements) {
  if (elements.size() == 1) return elements.front();
  max_elements = std::max<std::size_t>(max_elements, 2);
  std::string s = "[";
  auto append = [&](const std::string& x) { s += (s.size() > 1 ? ", " : "") + x; };
  if (elements.size() <= max_elements) {
    for (const std::string& x : elements) append(x);
  } else {
    for (std::size_t k = 0; k + 1 < max_elements; ++k) append(elements[k]);
    append("…");
    append(elements.back());
  }
  return s + "]";
}

namespace {

// Argument names in op text and on edges: "x" for a one-input op, else a, b, c
// (the letters the op table's vjp formulas use).
std::string argument_name(int arity, int k) {
  return arity == 1 ? "x" : std::string(1, static_cast<char>('a' + k));
}

// The op in its notation, with its arguments as letters: "a / b", "-x",
// "exp(x)", "sum(x, axis=0)".
std::string op_text(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  const OpInfo& info = op_info(n.op);
  const int arity = n.arity;
  switch (info.notation) {
    case Notation::Infix:
      return fmt::format("{} {} {}", argument_name(arity, 0), info.symbol, argument_name(arity, 1));
    case Notation::Prefix:
      return fmt::format("{}{}", info.symbol, argument_name(arity, 0));
    default: {
      std::string s = fmt::format("{}(", info.symbol.empty() ? info.name : info.symbol);
      for (int k = 0; k < arity; ++k) s += (k ? ", " : "") + argument_name(arity, k);
      if (info.attr_text) s += info.attr_text(g, id);
      return s + ")";
    }
  }
}

std::string constant_text(const Graph& g, NodeId id, std::size_t max_elements) {
  const std::vector<std::string> elements = to_strings(g.constant_values(id));
  if (g.shape(id).is_scalar() && elements.size() == 1) return elements.front();
  return abbreviate_elements(elements, max_elements);
}

// A class token: letters, digits, '-' and '_' only.
std::string class_token(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string node_label(const Graph& g, NodeId id, const FigureOptions& o) {
  std::vector<std::string> lines;
  std::string main;
  if (g.is_variable(id)) main = g.attr(id).name;
  else if (g.is_constant(id)) main = constant_text(g, id, o.max_elements);
  else main = op_text(g, id);
  if (auto it = o.names.find(id); it != o.names.end() && it->second != main) main = it->second + " = " + main;
  lines.push_back(main);
  lines.push_back(g.shape(id).is_scalar() ? fmt::format("%{}", id) : fmt::format("%{}  {}", id, to_string(g.shape(id))));
  if (auto it = o.values.find(id); it != o.values.end() && !it->second.empty())
    lines.push_back("value " + abbreviate_elements(it->second, o.max_elements));
  if (auto it = o.adjoints.find(id); it != o.adjoints.end() && !it->second.empty())
    lines.push_back("ḡ " + abbreviate_elements(it->second, o.max_elements));
  std::string label;
  for (const std::string& line : lines) label += (label.empty() ? "" : "\\n") + dot_escape(line);
  return label;
}

}  // namespace

std::string to_dot(const Graph& g, const FigureOptions& o) {
  std::vector<NodeId> forward, gradient;
  if (o.roots.empty() && o.gradient_roots.empty()) {
    for (NodeId id = 0; id < g.size(); ++id) forward.push_back(id);
  } else {
    forward = topological_order(g, o.roots);
    const std::vector<NodeId> all = topological_order(g, o.gradient_roots);
    std::set_difference(all.begin(), all.end(), forward.begin(), forward.end(), std::back_inserter(gradient));
  }
  auto in = [](const std::vector<NodeId>& sorted, NodeId id) { return std::binary_search(sorted.begin(), sorted.end(), id); };
  const std::set<NodeId> roots(o.roots.begin(), o.roots.end());
  const std::set<NodeId> gradient_roots(o.gradient_roots.begin(), o.gradient_roots.end());
  std::set<NodeId> shared;  // forward nodes a gradient node uses
  for (NodeId id : gradient)
    for (NodeId input : g.node(id).inputs())
      if (in(forward, input)) shared.insert(input);

  const bool clusters = !o.gradient_roots.empty();
  std::string out = "digraph ddx {\n";
  out += "  graph [id=\"ddx-graph\", rankdir=BT, nodesep=0.25, ranksep=0.35, fontname=\"Helvetica\"";
  if (!o.title.empty()) out += fmt::format(", label=\"{}\", labelloc=t, fontsize=16", dot_escape(o.title));
  out += "];\n";
  out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [color=\"#555555\", arrowsize=0.7, fontname=\"Helvetica\", fontsize=9];\n";

  auto emit_node = [&](NodeId id, bool is_gradient, const std::string& indent) {
    const Node& n = g.node(id);
    std::string kind = g.is_variable(id) ? "variable" : g.is_constant(id) ? "constant" : "op";
    std::string cls = fmt::format("{} {} op-{}", is_gradient ? "gradient" : "forward", kind,
                                  class_token(op_info(n.op).name));
    if (roots.count(id)) cls += " root";
    if (gradient_roots.count(id)) cls += " gradient-root";
    if (shared.count(id)) cls += " shared";
    std::string style;
    if (g.is_variable(id)) style = ", fillcolor=\"#d9f2d9\"";
    else if (g.is_constant(id)) style = ", style=\"rounded,dashed\", color=\"#888888\"";
    else if (is_gradient) style = ", fillcolor=\"#fde9d9\"";
    else style = ", fillcolor=\"#dde8f6\"";
    if (roots.count(id) || gradient_roots.count(id)) style += ", penwidth=2";
    out += fmt::format("{}n{} [id=\"node-{}\", class=\"{}\", label=\"{}\"{}];\n", indent, id, id, cls,
                       node_label(g, id, o), style);
  };

  if (clusters) {
    // labelloc=b puts a cluster's label on top: with rankdir=BT graphviz flips it.
    out += "  subgraph cluster_forward {\n";
    out += "    graph [id=\"cluster-forward\", class=\"forward\", label=\"forward\", labelloc=b, style=\"rounded\", color=\"#7a9cc6\"];\n";
    for (NodeId id : forward) emit_node(id, false, "    ");
    out += "  }\n";
    out += "  subgraph cluster_gradient {\n";
    out += "    graph [id=\"cluster-gradient\", class=\"gradient\", label=\"gradient (reverse mode)\", labelloc=b, "
           "style=\"rounded\", color=\"#d9946c\"];\n";
    for (NodeId id : gradient) emit_node(id, true, "    ");
    out += "  }\n";
  } else {
    for (NodeId id : forward) emit_node(id, false, "  ");
  }

  auto emit_edges = [&](NodeId id, bool is_gradient) {
    const Node& n = g.node(id);
    const auto inputs = n.inputs();
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const NodeId from = inputs[k];
      if (std::find(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(k), from) != inputs.begin() + static_cast<std::ptrdiff_t>(k))
        continue;  // drawn with its first slot
      std::string label;
      if (inputs.size() > 1)
        for (std::size_t j = k; j < inputs.size(); ++j)
          if (inputs[j] == from) label += (label.empty() ? "" : ",") + argument_name(n.arity, static_cast<int>(j));
      const bool reuse = is_gradient && in(forward, from);
      std::string attrs = fmt::format("id=\"edge-{}-{}\", class=\"{}\"", from, id,
                                      reuse ? "reuse" : is_gradient ? "gradient" : "forward");
      if (!label.empty()) attrs += fmt::format(", label=\"{}\"", label);
      // A reused forward value does not push the gradient cluster above the
      // forward one: the clusters stay side by side.
      if (reuse) attrs += ", style=dashed, color=\"#c0504d\", constraint=false";
      out += fmt::format("  n{} -> n{} [{}];\n", from, id, attrs);
    }
  };
  for (NodeId id : forward) emit_edges(id, false);
  for (NodeId id : gradient) emit_edges(id, true);
  out += "}\n";
  return out;
}

// ---- graphviz ---------------------------------------------------------------

namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string errno_text(int e) { return std::strerror(e); }

// Removes every "<!--" ... "-->" whose text contains `containing` (all comments when empty).
std::string strip_comments(std::string_view svg, std::string_view containing) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = svg.find("<!--", pos);
    if (start == std::string_view::npos) break;
    const std::size_t end = svg.find("-->", start + 4);
    if (end == std::string_view::npos) break;
    const std::string_view comment = svg.substr(start, end + 3 - start);
    const bool remove = containing.empty() || comment.find(containing) != std::string_view::npos;
    out.append(svg.substr(pos, start - pos));
    if (!remove) out.append(comment);
    pos = end + 3;
    if (remove && pos < svg.size() && svg[pos] == '\n') ++pos;  // and the line break after it
  }
  out.append(svg.substr(pos));
  return out;
}

// graphviz writes '-' as "&#45;" everywhere, so id="node-5" comes out as
// id="node&#45;5". Both mean the same to an XML or HTML parser; writing '-'
// back lets the ids read the same in the text too. Comments are copied as
// they are (a '-' there could make an illegal "--").
std::string unescape_hyphens(std::string_view svg) {
  std::string out;
  out.reserve(svg.size());
  for (std::size_t pos = 0; pos < svg.size();) {
    if (svg.compare(pos, 4, "<!--") == 0) {
      const std::size_t end = svg.find("-->", pos + 4);
      const std::size_t stop = end == std::string_view::npos ? svg.size() : end + 3;
      out.append(svg.substr(pos, stop - pos));
      pos = stop;
    } else if (svg.compare(pos, 5, "&#45;") == 0) {
      out += '-';
      pos += 5;
    } else {
      out += svg[pos++];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> dot_to_svg(std::string_view dot, std::string& error, const std::string& program) {
  // stdin is a socket so that writing after graphviz exits gives EPIPE
  // (send with MSG_NOSIGNAL), not a SIGPIPE that would kill ddx.
  int in_pair[2], out_pipe[2], err_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    error = "cannot run graphviz: socketpair: " + errno_text(errno);
    return std::nullopt;
  }
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    error = "cannot run graphviz: pipe: " + errno_text(errno);
    return std::nullopt;
  }
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    error = "cannot run graphviz: pipe: " + errno_text(errno);
    return std::nullopt;
  }
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_child.fd, 2);
  std::string arg0 = program, arg1 = "-Tsvg";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    error = spawned == ENOENT
                ? fmt::format("graphviz is not installed: the program '{}' was not found on PATH "
                              "(install graphviz, e.g. apt-get install graphviz, or use --format dot)",
                              program)
                : fmt::format("cannot run graphviz '{}': {}", program, errno_text(spawned));
    return std::nullopt;
  }
  in_child.reset();
  out_child.reset();
  err_child.reset();
  ::shutdown(in_parent.fd, SHUT_RD);

  // Write stdin and read stdout and stderr together, so a large graph cannot
  // deadlock with graphviz blocked on a full output pipe.
  std::string svg, messages;
  std::size_t written = 0;
  if (dot.empty()) in_parent.reset();
  char buffer[65536];
  while (out_parent.fd >= 0 || err_parent.fd >= 0) {
    pollfd fds[3];
    int count = 0;
    int in_index = -1, out_index = -1, err_index = -1;
    if (in_parent.fd >= 0) fds[in_index = count++] = {in_parent.fd, POLLOUT, 0};
    if (out_parent.fd >= 0) fds[out_index = count++] = {out_parent.fd, POLLIN, 0};
    if (err_parent.fd >= 0) fds[err_index = count++] = {err_parent.fd, POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(count), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_index >= 0 && fds[in_index].revents != 0) {
      const ssize_t n = ::send(in_parent.fd, dot.data() + written, std::min<std::size_t>(dot.size() - written, 65536),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || written == dot.size())
        in_parent.reset();  // done, or graphviz stopped reading: it will report why
    }
    auto drain = [&](int index, Fd& fd, std::string& sink) {
      if (index < 0 || fds[index].revents == 0) return;
      const ssize_t n = ::read(fd.fd, buffer, sizeof buffer);
      if (n > 0) sink.append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EINTR && errno != EAGAIN)) fd.reset();
    };
    drain(out_index, out_parent, svg);
    drain(err_index, err_parent, messages);
  }
  in_parent.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!messages.empty() && (messages.back() == '\n' || messages.back() == ' ')) messages.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || svg.find("<svg") == std::string::npos) {
    const std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                            : WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                                  : std::string("an unknown status");
    error = fmt::format("graphviz '{} -Tsvg' failed ({}){}{}", program, how, messages.empty() ? "" : ": ", messages);
    return std::nullopt;
  }
  return unescape_hyphens(strip_comments(svg, "Generated by graphviz"));
}

std::string svg_for_html(std::string_view svg) {
  std::string text = strip_comments(svg, "");
  // The prolog <?xml ...?> and <!DOCTYPE ...>: everything before <svg.
  const std::size_t start = text.find("<svg");
  if (start != std::string::npos) text.erase(0, start);
  return text;
}

}  // namespace ddx
