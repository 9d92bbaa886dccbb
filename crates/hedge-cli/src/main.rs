//! `hedge`: the command line of the hedge toolkit. See `hedge --help`.

mod cli;
mod cmd;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, SimulateCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Simulate(SimulateCommand::Toy(a)) => cmd::toy::run(a),
        Command::Simulate(SimulateCommand::Gaussian(a)) => cmd::gaussian::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Tune(a) => cmd::tune::run(a),
        Command::Curve(a) => cmd::curve::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Kl(a) => cmd::kl::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Select(a) => cmd::select::run(a),
        #[cfg(feature = "net")]
        Command::Collect(a) => cmd::collect::run(a),
        #[cfg(feature = "net")]
        Command::Serve(a) => cmd::serve::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hedge: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
