using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mesh.Client.Admin;
using Mesh.Client.Local;
using Mesh.Core.Security;
using Mesh.Security;
using Spectre.Console;

namespace Mesh.Client.Commands;

/// <summary>
/// <c>mesh certs init|issue|revoke|show</c>: the mesh's own CA for a deployment, certificates for silos (one per region)
/// and for people (operator or read-only), a revocation list, and what a certificate says and when it expires.
/// Exit codes: 0 done, 2 bad input (a file missing or not what it should be, a CA that exists already).
/// </summary>
internal static class CertsCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static Command Create() => new("certs",
        "The mesh's certificate authority: mutual TLS between silos and for admin clients (see the README's security section)")
    {
        Init(), Issue(), Revoke(), Show(),
    };

    private static Option<string> CaDir() => new("--ca-dir")
    {
        Description = $"The folder holding the CA ({MeshTlsFiles.CaCertificateFileName} and {MeshTlsFiles.CaKeyFileName}) that 'mesh certs init' wrote",
        Required = true,
    };

    private static Option<int> Days(int defaultDays, string what) => new("--days")
    {
        Description = $"How long {what} is valid, in days (default {defaultDays})",
        DefaultValueFactory = _ => defaultDays,
    };

    private static Command Init()
    {
        var output = new Option<string>("--out") { Description = "The folder to write ca.crt and ca.key (the key readable by you only) into", Required = true };
        var name = new Option<string>("--name") { Description = "The CA's common name", DefaultValueFactory = _ => "Mesh CA" };
        var days = Days(3650, "the CA");
        var force = new Option<bool>("--force") { Description = "Replace a CA already in the folder (every certificate it issued stops being trusted)" };
        var json = CommonOptions.Json();
        var command = new Command("init", "Create the mesh's certificate authority: every silo and admin client trusts it, and nothing else")
        {
            output, name, days, force, json,
        };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(output)!;
            CheckDays(parse.GetValue(days));
            var certificateFile = Path.Combine(folder, MeshTlsFiles.CaCertificateFileName);
            var keyFile = Path.Combine(folder, MeshTlsFiles.CaKeyFileName);
            if ((File.Exists(certificateFile) || File.Exists(keyFile)) && !parse.GetValue(force))
                throw new MeshCommandException($"{folder} already holds a CA ({certificateFile}): replacing it would make every certificate it issued " +
                                               "untrusted. Use another --out, or --force to replace it.", 2);
            Directory.CreateDirectory(folder);
            using var ca = MeshCertificates.CreateAuthority(parse.GetValue(name)!, TimeSpan.FromDays(parse.GetValue(days)), DateTimeOffset.UtcNow);
            MeshCertificates.Save(ca, certificateFile, keyFile);
            Report(parse.GetValue(json), "created the CA", ca, null, certificateFile, keyFile);
            return 0;
        });
        return command;
    }

    private static Command Issue()
    {
        var caDir = CaDir();
        var role = new Option<string>("--role") { Description = $"What the holder may do: {MeshRoles.Known}", Required = true };
        role.AcceptOnlyFromAmong([.. Enum.GetValues<MeshRole>().Select(MeshRoles.Name)]);
        var name = new Option<string>("--name") { Description = "For a silo, its region's id; for a person, their name (it shows in the audit log)", Required = true };
        var hosts = new Option<string>("--host") { Description = "Comma-separated DNS names or IP addresses to put in the certificate (for tools that check them; the mesh checks role and region)" };
        var days = Days(365, "the certificate");
        var output = new Option<string>("--out") { Description = "The folder to write <file>.crt and <file>.key into, with a copy of ca.crt (default: --ca-dir)" };
        var json = CommonOptions.Json();
        var command = new Command("issue",
            "Issue a certificate from the mesh's CA: a silo's (one per region, used by each of its silos: Mesh:Orleans:Tls) or a person's " +
            $"(operator or read-only: set {ClientCredentials.CaVariable}, {ClientCredentials.CertificateVariable}, {ClientCredentials.KeyVariable} to its files). " +
            "Files are named silo-<region> for silos and <name> for people")
        {
            caDir, role, name, hosts, days, output, json,
        };
        command.SetAction(parse =>
        {
            MeshRoles.TryParse(parse.GetValue(role), out var holderRole);
            var holder = parse.GetValue(name)!;
            if (holderRole == MeshRole.Silo && !Core.Replication.RegionIds.IsValid(holder, out var reason))
                throw new MeshCommandException($"--name: a silo certificate names its region, and {reason}.", 2);
            if (holder.Length == 0 || holder.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new MeshCommandException($"--name: '{holder}' cannot name a file; use letters, digits, '-', '_' or '.'.", 2);
            CheckDays(parse.GetValue(days));
            var folder = parse.GetValue(caDir)!;
            using var ca = LoadAuthority(folder);
            var now = DateTimeOffset.UtcNow;
            using var issued = MeshCertificates.Issue(ca, holderRole, holder, CommonOptions.SplitList(parse.GetValue(hosts)), TimeSpan.FromDays(parse.GetValue(days)), now);
            var target = parse.GetValue(output) ?? folder;
            Directory.CreateDirectory(target);
            var files = MeshTlsFiles.InFolder(target, holderRole == MeshRole.Silo ? LocalMesh.SiloHolder(holder) : holder);
            if (Path.GetFullPath(files.CaFile) != Path.GetFullPath(Path.Combine(folder, MeshTlsFiles.CaCertificateFileName)))
                MeshCertificates.Save(ca, files.CaFile, null);
            MeshCertificates.Save(issued, files.CertificateFile, files.KeyFile);
            Report(parse.GetValue(json), $"issued {(holderRole == MeshRole.Operator ? "an" : "a")} {MeshRoles.Name(holderRole)} certificate", issued, MeshCertificates.Identify(issued), files.CertificateFile, files.KeyFile);
            if (issued.NotAfter < now.AddDays(parse.GetValue(days)).UtcDateTime.AddMinutes(-2) && !parse.GetValue(json))
                Console.Error.WriteLine($"note: the certificate ends when the CA does ({ca.NotAfter.ToUniversalTime():yyyy-MM-dd}), sooner than --days asked.");
            return 0;
        });
        return command;
    }

    private static Command Revoke()
    {
        var caDir = CaDir();
        var certificate = new Option<string[]>("--certificate") { Description = "A certificate file to revoke (repeatable)", AllowMultipleArgumentsPerToken = true };
        var serial = new Option<string[]>("--serial") { Description = "A serial number (hex) to revoke, as 'mesh certs show' prints it (repeatable)", AllowMultipleArgumentsPerToken = true };
        var json = CommonOptions.Json();
        var command = new Command("revoke",
            $"Add certificates to the CA's revocation list ({MeshTlsFiles.CrlFileName} in --ca-dir, signed by the CA). Silos read it at start from " +
            "Mesh:Orleans:Tls:CrlFile: copy it to them and restart them")
        {
            caDir, certificate, serial, json,
        };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(caDir)!;
            using var ca = LoadAuthority(folder);
            var serials = new List<string>(parse.GetValue(serial) ?? []);
            foreach (var file in parse.GetValue(certificate) ?? [])
            {
                if (!File.Exists(file)) throw new MeshCommandException($"--certificate: '{file}' does not exist.", 2);
                using var loaded = LoadOrExplain(file);
                serials.Add(loaded.SerialNumber);
            }
            if (serials.Count == 0) throw new MeshCommandException("Name what to revoke with --certificate FILE or --serial HEX.", 2);
            foreach (var s in serials)
                if (s.Length == 0 || !s.All(Uri.IsHexDigit)) throw new MeshCommandException($"--serial: '{s}' is not a hexadecimal serial number.", 2);
            var crlFile = Path.Combine(folder, MeshTlsFiles.CrlFileName);
            var all = new SortedSet<string>(serials.Select(Normalize), StringComparer.Ordinal);
            if (File.Exists(crlFile)) all.UnionWith(ReadSerials(crlFile, ca));
            File.WriteAllBytes(crlFile, RevokedSerials.Build(ca, all, DateTimeOffset.UtcNow, TimeSpan.FromDays(3650)));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new { crl = crlFile, revoked = all.ToArray() }, JsonOptions));
            else
                Console.WriteLine($"{crlFile}: {all.Count} revoked serial number{(all.Count == 1 ? "" : "s")} ({string.Join(", ", all)})");
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var files = new Argument<string[]>("certificate") { Description = "Certificate files (PEM)", Arity = ArgumentArity.OneOrMore };
        var ca = new Option<string>("--ca") { Description = "Check them against this CA certificate (and its revocation list beside it, if any)" };
        var json = CommonOptions.Json();
        var command = new Command("show", "What certificates say: role, name, serial, expiry (days left), and with --ca whether the mesh would accept them now")
        {
            files, ca, json,
        };
        command.SetAction(parse =>
        {
            var caFile = parse.GetValue(ca);
            if (caFile is not null && !File.Exists(caFile)) throw new MeshCommandException($"--ca: '{caFile}' does not exist.", 2);
            using var authority = caFile is null ? null : LoadOrExplain(caFile);
            var crl = caFile is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(caFile))!, MeshTlsFiles.CrlFileName);
            var revoked = crl is not null && File.Exists(crl) ? RevokedSerials.Load(crl, authority!) : null;
            var now = DateTimeOffset.UtcNow;
            var rows = new List<object>();
            var table = new Table().AddColumns("file", "role", "name", "serial", "expires", "days left", "accepted");
            var refusals = new List<string>();
            foreach (var file in parse.GetValue(files)!)
            {
                if (!File.Exists(file)) throw new MeshCommandException($"'{file}' does not exist.", 2);
                using var certificate = LoadOrExplain(file);
                var identity = MeshCertificates.Identify(certificate);
                var verdict = authority is null ? null : MeshCertificates.Verify(certificate, authority, now, revoked).Refusal ?? "yes";
                var daysLeft = (certificate.NotAfter.ToUniversalTime() - now.UtcDateTime).TotalDays;
                rows.Add(new
                {
                    file, subject = certificate.Subject, role = identity is null ? null : MeshRoles.Name(identity.Role), name = identity?.Name,
                    serial = certificate.SerialNumber, notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()), daysLeft = Math.Round(daysLeft, 1),
                    accepted = verdict,
                });
                table.AddRow(Markup.Escape(file), identity is null ? "-" : MeshRoles.Name(identity.Role), Markup.Escape(identity?.Name ?? certificate.Subject),
                    certificate.SerialNumber, $"{certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC", $"{daysLeft:0.#}", verdict is null ? "(no --ca)" : verdict == "yes" ? "yes" : "no");
                if (verdict is not null && verdict != "yes") refusals.Add($"{file}: {verdict}");
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(new { certificates = rows }, JsonOptions));
            else
            {
                AnsiConsole.Write(table);
                foreach (var refusal in refusals) Console.WriteLine(refusal);
            }
            return 0;
        });
        return command;
    }

    private static X509Certificate2 LoadAuthority(string folder)
    {
        var certificateFile = Path.Combine(folder, MeshTlsFiles.CaCertificateFileName);
        var keyFile = Path.Combine(folder, MeshTlsFiles.CaKeyFileName);
        if (!File.Exists(certificateFile) || !File.Exists(keyFile))
            throw new MeshCommandException($"--ca-dir: {folder} holds no CA ({MeshTlsFiles.CaCertificateFileName} and {MeshTlsFiles.CaKeyFileName}); create one with 'mesh certs init --out {folder}'.", 2);
        try
        {
            return MeshCertificates.LoadWithKey(certificateFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new MeshCommandException($"--ca-dir: {certificateFile} with {keyFile} cannot be loaded ({e.Message}): the key must be the CA's own.", 2);
        }
    }

    private static X509Certificate2 LoadOrExplain(string file)
    {
        try
        {
            return MeshCertificates.LoadCertificate(file);
        }
        catch (CryptographicException e)
        {
            throw new MeshCommandException($"'{file}' holds no PEM certificate ({e.Message}).", 2);
        }
    }

    private static IEnumerable<string> ReadSerials(string crlFile, X509Certificate2 ca)
    {
        try
        {
            return RevokedSerials.Load(crlFile, ca).Serials;
        }
        catch (InvalidDataException e)
        {
            throw new MeshCommandException($"{e.Message}; move it away to start a new list.", 2);
        }
    }

    private static string Normalize(string serial) => serial.TrimStart('0').ToUpperInvariant() is { Length: > 0 } s ? s : "0";

    private static void CheckDays(int days)
    {
        if (days is < 1 or > 36500) throw new MeshCommandException($"--days: {days} is not a number of days from 1 to 36500.", 2);
    }

    private static void Report(bool json, string what, X509Certificate2 certificate, MeshIdentity? identity, string certificateFile, string keyFile)
    {
        var notAfter = certificate.NotAfter.ToUniversalTime();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                certificate = certificateFile, key = keyFile, subject = certificate.Subject, role = identity is null ? "ca" : MeshRoles.Name(identity.Role),
                serial = certificate.SerialNumber, notAfter = new DateTimeOffset(notAfter),
            }, JsonOptions));
            return;
        }
        Console.WriteLine($"{what}: {certificate.Subject}");
        Console.WriteLine($"  certificate {certificateFile}");
        Console.WriteLine($"  key         {keyFile} (readable by you only; never share it)");
        Console.WriteLine($"  serial      {certificate.SerialNumber}");
        Console.WriteLine($"  expires     {notAfter:yyyy-MM-dd HH:mm} UTC ({(notAfter - DateTime.UtcNow).TotalDays:0} days)");
    }
}
