#include "observernet/app/app.hpp"

int main(int argc, char** argv) {
  return observernet::app::run_cli(argc, argv);
}
