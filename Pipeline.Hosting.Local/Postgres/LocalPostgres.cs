using System.Diagnostics;

namespace Pipeline.Hosting.Local.Postgres;

/// <summary>
/// The host's own PostgreSQL server binaries (Debian package <c>postgresql</c>), set up the
/// way the local mode needs them: a throwaway data directory, scram-sha-256 with a
/// generated password, loopback only. PostgreSQL refuses to run as root, so as root every
/// command runs under the <c>postgres</c> account.
/// </summary>
public static class LocalPostgres
{
    /// <summary>The superuser the connection strings name.</summary>
    public const string SuperUser = "postgres";

    private const string ServiceAccount = "postgres";

    /// <summary>
    /// The folder with <c>postgres</c> and <c>initdb</c>: <c>PIPELINE_POSTGRES_BIN</c> when set,
    /// else the newest <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public static string FindBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("PIPELINE_POSTGRES_BIN");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(Path.Combine(configured, "postgres"))
                ? configured
                : throw new InvalidOperationException($"PIPELINE_POSTGRES_BIN={configured} has no 'postgres' binary.");
        }

        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "postgres")) && File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            "No PostgreSQL server binaries found under /usr/lib/postgresql. Install them (Debian: apt-get install postgresql) " +
            "or set PIPELINE_POSTGRES_BIN, or run with --Pipeline:Infrastructure=containers where a container runtime answers.");
    }

    /// <summary>Creates a fresh, empty data directory under the system temp folder, owned by the account postgres runs as.</summary>
    public static string CreateThrowawayDataDirectory()
    {
        var root = Directory.CreateTempSubdirectory("pipeline-postgres-").FullName;
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        GiveToServiceAccount(root);
        return data;
    }

    /// <summary>Runs <c>initdb</c>: UTF-8, scram-sha-256 for TCP, <paramref name="password"/> for <see cref="SuperUser"/>.</summary>
    public static async Task InitializeAsync(string binaries, string dataDirectory, string password, CancellationToken cancellationToken)
    {
        var root = Path.GetDirectoryName(dataDirectory)!;
        var passwordFile = Path.Combine(root, "initdb-password");
        await File.WriteAllTextAsync(passwordFile, password, cancellationToken);
        GiveToServiceAccount(passwordFile);
        try
        {
            var (command, arguments) = AsServiceAccount(Path.Combine(binaries, "initdb"),
            [
                "--pgdata", dataDirectory,
                "--username", SuperUser,
                "--pwfile", passwordFile,
                "--auth-host", "scram-sha-256",
                "--auth-local", "scram-sha-256",
                "--encoding", "UTF8",
                "--locale", "C.UTF-8",
                "--no-sync",
            ]);
            var startInfo = new ProcessStartInfo(command, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var initdb = Process.Start(startInfo) ?? throw new InvalidOperationException("initdb did not start.");
            var output = initdb.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = initdb.StandardError.ReadToEndAsync(cancellationToken);
            await initdb.WaitForExitAsync(cancellationToken);
            if (initdb.ExitCode != 0)
            {
                throw new InvalidOperationException($"initdb failed with exit code {initdb.ExitCode}: {await errors}{await output}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    /// <summary>The command line of a server that listens on 127.0.0.1:<paramref name="port"/> only.</summary>
    public static (string Command, string[] Arguments) ServerCommand(string binaries, string dataDirectory, int port) =>
        AsServiceAccount(Path.Combine(binaries, "postgres"),
        [
            "-D", dataDirectory,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", $"unix_socket_directories={dataDirectory}",
            "-c", "max_connections=200",
        ]);

    /// <summary>
    /// Asks the server with process id <paramref name="pid"/> for a fast shutdown (SIGINT: open
    /// transactions roll back, clients are disconnected, the data stays) the way an operator's
    /// Ctrl+C would. SIGTERM, a "smart" shutdown, would wait for every pooled client to leave.
    /// </summary>
    public static async Task RequestFastShutdownAsync(int pid)
    {
        using var signal = Process.Start("kill", ["-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("kill did not start.");
        await signal.WaitForExitAsync();
        if (signal.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -INT {pid} failed with exit code {signal.ExitCode}.");
        }
    }

    /// <summary>The process id of the server running on <paramref name="dataDirectory"/>, if one is.</summary>
    public static int? RunningServerPid(string dataDirectory)
    {
        // postmaster.pid's first line is the server's process id; the file goes when the server stops.
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        try
        {
            return int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && Directory.Exists($"/proc/{pid}") ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>An ADO.NET connection string to the server, optionally to one database.</summary>
    public static string ConnectionString(int port, string password, string? database = null) =>
        $"Host=127.0.0.1;Port={port};Username={SuperUser};Password={password}" + (database is null ? "" : $";Database={database}");

    /// <summary>Deletes a data directory made by <see cref="CreateThrowawayDataDirectory"/>, with its parent.</summary>
    public static void DeleteDataDirectory(string dataDirectory)
    {
        var root = Path.GetDirectoryName(dataDirectory);
        if (root is not null && Path.GetFileName(root).StartsWith("pipeline-postgres-", StringComparison.Ordinal) && Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // setpriv replaces itself with the command, so the process that Aspire (or a test) starts
    // and stops is the server itself, not a wrapper that might not pass signals on.
    private static (string Command, string[] Arguments) AsServiceAccount(string command, string[] arguments) =>
        Environment.UserName == "root"
            ? ("setpriv", ["--reuid", ServiceAccount, "--regid", ServiceAccount, "--init-groups", "--", command, .. arguments])
            : (command, arguments);

    private static void GiveToServiceAccount(string path)
    {
        if (Environment.UserName != "root")
        {
            return;
        }

        using var chown = Process.Start("chown", ["-R", $"{ServiceAccount}:{ServiceAccount}", path])
            ?? throw new InvalidOperationException("chown did not start.");
        chown.WaitForExit();
        if (chown.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not give {path} to the '{ServiceAccount}' account (is it missing? apt-get install postgresql creates it).");
        }
    }
}
