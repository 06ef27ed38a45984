package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/enode"
	"github.com/devp2p-go/devp2p/enr"
)

var (
	keyForceFlag = &cli.BoolFlag{
		Name:  "force",
		Usage: "Replace an existing key file (the node gets a new identity)",
	}
	keyIPFlag = &cli.StringFlag{
		Name:  "ip",
		Usage: "IP address for the printed enode URL and node record",
		Value: "127.0.0.1",
	}
	keyPortFlag = &cli.IntFlag{
		Name:  "port",
		Usage: "TCP and UDP port for the printed enode URL and node record",
		Value: defaultPort,
	}
	keyHexFlag = &cli.StringFlag{
		Name:  "nodekeyhex",
		Usage: "Inspect this hex key instead of a file",
	}
)

func keyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "Make a node key, or show the node ID and enode URL of one",
		Subcommands: []*cli.Command{
			{
				Name:      "new",
				Usage:     "Write a new node key to FILE (go-ethereum's nodekey format) and print its identity",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{keyForceFlag, keyIPFlag, keyPortFlag},
				Action:    func(ctx *cli.Context) error { return keyNew(ctx, e) },
			},
			{
				Name:  "inspect",
				Usage: "Print the node ID, public key, enode URL and node record of a key",
				UsageText: "devp2pd key inspect [flags] FILE\n" +
					"devp2pd key inspect --nodekeyhex HEX\n" +
					"devp2pd [--datadir DIR] key inspect    (the key of the node in DIR)",
				Flags:  []cli.Flag{keyHexFlag, keyIPFlag, keyPortFlag},
				Action: func(ctx *cli.Context) error { return keyInspect(ctx, e) },
			},
		},
	}
}

func keyNew(ctx *cli.Context, e *env) error {
	if ctx.NArg() != 1 {
		return errors.New("key new: want one argument, the key file to write")
	}
	path := ctx.Args().First()
	if _, err := os.Stat(path); err == nil && !ctx.Bool(keyForceFlag.Name) {
		return fmt.Errorf("key new: %s exists; use --force to replace it", path)
	}
	k, err := crypto.GenerateKey(nil)
	if err != nil {
		return err
	}
	if err := crypto.SaveNodeKey(path, k); err != nil {
		return fmt.Errorf("key new: %w", err)
	}
	fmt.Fprintln(e.stdout, "Node key written to", path)
	return printKey(ctx, e, k)
}

func keyInspect(ctx *cli.Context, e *env) error {
	var (
		k   *crypto.PrivateKey
		err error
	)
	switch hex := ctx.String(keyHexFlag.Name); {
	case ctx.NArg() > 1:
		return errors.New("key inspect: want at most one argument, the key file")
	case hex != "" && ctx.NArg() == 1:
		return errors.New("key inspect: give a key file or --nodekeyhex, not both")
	case hex != "":
		if k, err = crypto.HexToPrivateKey(hex); err != nil {
			return fmt.Errorf("key inspect: invalid --nodekeyhex: %w", err)
		}
	default:
		path := ctx.Args().First()
		if path == "" {
			path = filepath.Join(ctx.String(dataDirFlag.Name), "nodekey")
		}
		if k, err = crypto.LoadNodeKey(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("key inspect: no key file at %s", path)
			}
			return fmt.Errorf("key inspect: %s: %w", path, err)
		}
	}
	return printKey(ctx, e, k)
}

// printKey prints the identity of k at the address given by --ip/--port.
func printKey(ctx *cli.Context, e *env, k *crypto.PrivateKey) error {
	ip, err := netip.ParseAddr(ctx.String(keyIPFlag.Name))
	if err != nil {
		return fmt.Errorf("invalid --ip: %w", err)
	}
	port := ctx.Int(keyPortFlag.Name)
	if port < 0 || port > 65535 {
		return fmt.Errorf("invalid --port %d", port)
	}
	ip = ip.Unmap()
	ln := enode.NewLocalNode(k, 1)
	if ip.Is4() {
		ln.Set(enr.IPv4(ip))
	} else {
		ln.Set(enr.IPv6(ip))
	}
	ln.Set(enr.TCP(uint16(port)))
	ln.Set(enr.UDP(uint16(port)))
	n := ln.Node()
	pub := k.Public()
	fmt.Fprintf(e.stdout, "Node ID:    %s\n", n.ID())
	fmt.Fprintf(e.stdout, "Public key: %x\n", pub[:])
	fmt.Fprintf(e.stdout, "enode:      %s\n", n.URLv4())
	fmt.Fprintf(e.stdout, "ENR:        %s\n", n.String())
	return nil
}
