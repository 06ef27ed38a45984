// Command devp2pd runs a devp2p node: the RLPx connection pool of an
// Ethereum node, without a blockchain behind it.
//
//	devp2pd [flags]                 run a node (the default command)
//	devp2pd key new|inspect         make a node key, or show its node ID and enode URL
//	devp2pd ping [--echo] <enode>   connect to a node and report what happened
//	devp2pd devnet -n N             run N nodes on loopback and show their peers
//	devp2pd diag [--rpc URL]        ask a running node why it has the peers it has
//	devp2pd ban|unban <target>      ban or unban a node ID or IP on a running node
//	devp2pd bans                    list the bans of a running node
//	devp2pd dumpconfig [flags]      print the settings as a config file
//	devp2pd version                 print version information
//
// The node key lives in the data directory and is created on first run, so
// the node ID is stable across restarts. Flags that mean what a
// go-ethereum flag means have go-ethereum's name; a TOML config file
// (--config) takes the same keys. With --http or --ws the node serves
// go-ethereum's admin JSON-RPC API on 127.0.0.1; with --metrics it serves
// Prometheus metrics. SIGINT or SIGTERM stops it cleanly, telling peers
// DiscQuitting; a second signal exits at once.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is the release of this build.
const version = "0.1.0-dev"

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, signals: sigs, exit: os.Exit}
	if err := newApp(e).Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "devp2pd:", err)
		os.Exit(1)
	}
}

// env is what the commands get from the process, replaced in tests.
type env struct {
	stdout, stderr io.Writer
	signals        <-chan os.Signal // SIGINT and SIGTERM
	exit           func(code int)   // for the forced exit on a second signal
	started        func(*daemon)    // called when the node runs; tests only
}

// newApp returns the command-line application.
func newApp(e *env) *cli.App {
	return &cli.App{
		Name:      "devp2pd",
		Usage:     "run a devp2p node (the RLPx connection pool of an Ethereum node)",
		UsageText: "devp2pd [flags]    (runs a node)\ndevp2pd [flags] command [command flags] [arguments...]",
		Version:   version,
		Flags:     nodeFlags,
		Action:    func(ctx *cli.Context) error { return runNode(ctx, e) },
		Commands: slices.Concat(
			[]*cli.Command{keyCommand(e), pingCommand(e), devnetCommand(e), diagCommand(e)},
			banCommands(e),
			[]*cli.Command{dumpConfigCommand(e), versionCommand(e)},
		),
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		Suggest:   true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see --help)", err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports errors
	}
}

// runNode is the default command: run a node until SIGINT or SIGTERM.
func runNode(ctx *cli.Context, e *env) error {
	if ctx.NArg() > 0 {
		return fmt.Errorf("unknown command %q (see --help)", ctx.Args().First())
	}
	s, err := readSettings(ctx)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, s.verbosity, s.logJSON)
	d, err := startDaemon(s, log, e.stdout)
	if err != nil {
		return err
	}
	if e.started != nil {
		e.started(d)
	}
	sig := <-e.signals
	log.Info("Got signal, shutting down (again to exit at once)", "signal", sig)
	done := make(chan struct{})
	go func() {
		if d.beforeStop != nil {
			d.beforeStop()
		}
		d.stop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case sig := <-e.signals:
		log.Warn("Got a second signal, exiting without a clean shutdown", "signal", sig)
		e.exit(1)
		return errForcedExit
	}
}

// errForcedExit is returned when a second signal cut the shutdown short
// (and the exit function returned, as in tests).
var errForcedExit = errors.New("forced exit on a second signal")

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "Print version information",
		Action: func(*cli.Context) error {
			fmt.Fprintln(e.stdout, "devp2pd")
			fmt.Fprintln(e.stdout, "Version:", version)
			if commit := vcsRevision(); commit != "" {
				fmt.Fprintln(e.stdout, "Git Commit:", commit)
			}
			fmt.Fprintln(e.stdout, "Architecture:", runtime.GOARCH)
			fmt.Fprintln(e.stdout, "Go Version:", runtime.Version())
			fmt.Fprintln(e.stdout, "Operating System:", runtime.GOOS)
			return nil
		},
	}
}

// vcsRevision returns the commit the binary was built from, if recorded.
func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + modified
}

func dumpConfigCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "dumpconfig",
		Usage:     "Print the node settings (flags and --config applied) as a config file",
		UsageText: "devp2pd [node flags] dumpconfig",
		Action: func(ctx *cli.Context) error {
			root := ctx.Lineage()[1]
			if _, err := readSettings(root); err != nil {
				return err
			}
			b, err := dumpConfig(root)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(b)
			return err
		},
	}
}
