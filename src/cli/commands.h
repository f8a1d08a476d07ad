#pragma once
// The `medvault` command line (CONTRACT.md "Command line"). Exit status: 0 ok, 1 usage or input
// error (message on stderr), 2 internal error, 3 integrity failure.
#include <iosfwd>
#include <string>
#include <vector>

namespace medvault::cli {

// Runs the command line `args` (args[0] is the program name).
int Run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);

}  // namespace medvault::cli
