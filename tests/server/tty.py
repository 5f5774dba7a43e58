#!/usr/bin/python3
"""tty.py - runs a command with its standard error on a pseudo-terminal.

    tty.py [--cols N] [--rows N] -- COMMAND [ARG...]

Standard input and standard output stay the caller's (a message piped in, a
listing captured), as when mutt or a person at a shell runs outbox with
stderr on the screen.  What the command writes to the terminal is copied,
byte for byte (output post-processing is off, so no CR is added), to this
program's standard error.  The exit status is the command's (128 + N for a
signal).  The terminal is 80x24 unless --cols/--rows say otherwise.
"""
import argparse
import fcntl
import os
import struct
import sys
import termios


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(slave, termios.TIOCSWINSZ,
                struct.pack("HHHH", args.rows, args.cols, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        os.dup2(slave, 2)
        os.close(slave)
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("tty.py: %s: %s\n" % (cmd[0], e.strerror)).encode())
            os._exit(127)
    os.close(slave)
    out = sys.stderr.buffer
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out.write(data)
        out.flush()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
