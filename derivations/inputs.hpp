// Parsing the numbers users type on the command line, and the small text
// helpers the commands share.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rational.hpp"

namespace ddx {

// Bad input from the user: the message names the option and the offending part.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// "2,1,0.1" is one row; "2,1,0.1; 0,1,5" two rows (a batch). Every row must
// have the same length. `option` names the option in messages ("--logits").
std::vector<std::vector<Rational>> parse_rows(std::string_view text, std::string_view option);

// One integer per row: "2" or "2;0". Each must lie in [0, n).
std::vector<long> parse_classes(std::string_view text, std::string_view option, long n);

// The most classes a vector variable may have.
inline constexpr long kMaxClasses = 100000;
// Throws InputError "--classes: must lie in [smallest, kMaxClasses], got n".
void check_classes(long classes, long smallest = 1);

// One number, e.g. a temperature.
Rational parse_number(std::string_view text, std::string_view option);

// Where an equation splits: the offset of its relation symbol and the offset
// just past it. The relation is `relation`: "==" (a single '=' is then a
// statement "name = ..."), or "=" which also accepts "=="; it must occur once
// outside brackets. Throws InputError naming `what` when there is none or
// more than one.
struct EquationSplit {
  std::size_t relation = 0;  // offset of the relation symbol
  std::size_t rhs = 0;       // offset of the right side
};
EquationSplit split_equation(std::string_view text, std::string_view relation, std::string_view what);

// The text without leading and trailing blanks.
std::string trim(std::string_view text);

// The parts of text between the separators (blanks kept): "a,,b" → {"a", "", "b"}.
std::vector<std::string_view> split(std::string_view text, char separator);

// The items with `separator` between them.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Every non-empty line of `text` after `prefix`, each ending in a newline.
std::string indent(std::string_view text, std::string_view prefix);

// "z, y" → {"z", "y"}; blanks ignored.
std::vector<std::string> split_names(std::string_view text);

}  // namespace ddx
