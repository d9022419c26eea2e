/**
 * Where to sync with: a URL (`http://`, `https://`, `git://`), another repository on disk, or
 * another repository open in this process. A `Remote` is a description: nothing is contacted until
 * an operation opens a session on it. Transports that need Node built-ins are loaded on demand, so
 * this module bundles for browsers.
 */
import { invalidArgument } from "../core/errors.js";
import type { Backend } from "../backend/backend.js";
import type { RemoteSession } from "./client/session.js";

/** What kind of remote this is. */
export type RemoteKind = "http" | "git" | "path" | "repo";

/** Options of {@link Remote.url}. */
export interface RemoteUrlOptions {
  /** Protocol version to ask for (default 2; the server may answer with 0). */
  protocol?: 0 | 2;
  /** Largest pack accepted from this remote, in bytes (default: no limit). */
  maxPackBytes?: number;
  /** A connection idle this long fails with `IO` (default 120000 ms). */
  timeoutMs?: number;
}

/** Anything with a backend: a `Repo` (through its internals). */
export interface HasBackend {
  readonly internals: { readonly backend: Backend };
}

/** A remote repository to fetch from and push to. */
export class Remote {
  private constructor(
    /** The kind of remote. */
    readonly kind: RemoteKind,
    /** The URL or path, for messages (`"<in-process repository>"` for {@link Remote.repo}). */
    readonly location: string,
    private readonly opener: () => Promise<RemoteSession>,
    /** Largest pack accepted from this remote, in bytes. */
    readonly maxPackBytes: number | undefined = undefined,
  ) {}

  /**
   * A remote reached over the network: `http://`, `https://` (smart HTTP) or `git://` (the git
   * daemon). `file://` URLs are the same as {@link Remote.path}. INVALID_ARGUMENT for other schemes.
   */
  static url(url: string, options: RemoteUrlOptions = {}): Remote {
    if (typeof url !== "string") throw invalidArgument("Remote.url expects a string");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidArgument(`not a URL: ${JSON.stringify(url)}`);
    }
    const protocol = options.protocol ?? 2;
    if (protocol !== 0 && protocol !== 2) throw invalidArgument("protocol must be 0 or 2");
    const max = options.maxPackBytes;
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) throw invalidArgument("timeoutMs must be a positive integer");
    if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) throw invalidArgument("maxPackBytes must be a positive integer");
    switch (parsed.protocol) {
      case "http:":
      case "https:":
        return new Remote(
          "http",
          url,
          async () => {
            const [{ httpTransport }, { smartSession }] = await Promise.all([import("./transport/http-transport.js"), import("./client/smart-session.js")]);
            return smartSession(httpTransport(url, { timeoutMs }), { protocol });
          },
          max,
        );
      case "git:":
        return new Remote(
          "git",
          url,
          async () => {
            const [{ gitTransport }, { smartSession }] = await Promise.all([import("./transport/git-transport.js"), import("./client/smart-session.js")]);
            return smartSession(gitTransport(url, { timeoutMs }), { protocol });
          },
          max,
        );
      case "file:":
        return Remote.path(decodeURIComponent(parsed.pathname));
      default:
        throw invalidArgument(`unsupported remote URL scheme ${JSON.stringify(parsed.protocol)} (http, https, git or file)`);
    }
  }

  /** Another Git repository on disk (bare or with a work tree), opened in this process; never created. */
  static path(dir: string): Remote {
    if (typeof dir !== "string" || dir === "") throw invalidArgument("Remote.path expects a directory");
    return new Remote("path", dir, async () => {
      const { pathSession } = await import("./transport/path-remote.js");
      return pathSession(dir);
    });
  }

  /** Another repository open in this process, on any backend. Only the objects missing on either side are copied. */
  static repo(repo: HasBackend): Remote {
    const backend = repo?.internals?.backend;
    if (backend === undefined) throw invalidArgument("Remote.repo expects a repository");
    return new Remote("repo", "<in-process repository>", async () => {
      const { inProcessSession } = await import("./transport/in-process.js");
      return inProcessSession(backend);
    });
  }

  /** A name for messages and remote-tracking refs: the last path segment without `.git`. */
  get name(): string {
    if (this.kind === "repo") return "repo";
    const last = this.location.replace(/\/+$/, "").split(/[/\\]/).pop() ?? "remote";
    return last.replace(/\.git$/, "") || "remote";
  }

  /** @internal Opens a session (connects lazily on first use for network remotes). Close it after use. */
  open(): Promise<RemoteSession> {
    return this.opener();
  }
}
