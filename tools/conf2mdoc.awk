# conf2mdoc.awk: stripwatch.conf(5) from its template and the shipped
# configuration file, so that the manual and the file never disagree.
#
#   awk -v config_file=/etc/stripwatch/stripwatch.conf \
#       -f tools/conf2mdoc.awk conf/stripwatch.conf.5.in conf/stripwatch.conf
#
# The template is copied with @CONFIG_FILE@ replaced, and its line
# '.\" @SETTINGS@' replaced by the settings. In the configuration file,
# everything before the first "## Title" line is its own header and is
# skipped; then "## Title" starts a subsection, "# text" lines describe
# the "key = value" line or lines that follow them, a lone "#" separates
# paragraphs, and a blank line ends an entry. Any other line is an error:
# the page would silently lose it.

function fail(msg) {
	printf "conf2mdoc: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

# Text lines: a backslash is \e; a leading dot or quote would be a request.
function text(s) {
	gsub(/\\/, "\\e", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# A quoted macro argument: also " as \(dq.
function arg(s) {
	s = text(s)
	sub(/^\\&/, "", s)
	gsub(/"/, "\\(dq", s)
	return "\"" s "\""
}

function emit(s) {
	out[++nout] = s
}

function flush(    i, key, val) {
	if (nheads == 0 && ntext == 0)
		return
	if (nheads == 0) {
		if (inlist)
			emit(".El")
		inlist = 0
		emit(".Pp")
	} else if (!inlist) {
		emit(".Bl -tag -width Ds")
		inlist = 1
	}
	for (i = 1; i <= nheads; i++) {
		key = heads[i]
		sub(/[ \t]*=.*/, "", key)
		val = heads[i]
		sub(/^[^=]*=[ \t]*/, "", val)
		emit(".It Cm " key " No = Li " arg(val))
	}
	for (i = 1; i <= ntext; i++)
		emit(body[i] == "" ? ".Pp" : text(body[i]))
	nheads = ntext = 0
}

FNR == 1 {
	nfile++
}

nfile == 1 {
	tmpl[++ntmpl] = $0
	next
}

/^## / {
	flush()
	if (inlist)
		emit(".El")
	inlist = 0
	emit(".Ss " text(substr($0, 4)))
	insection = 1
	next
}

!insection {
	next
}

/^#$/ || /^# / {
	if (nheads > 0)
		flush()
	body[++ntext] = substr($0, 3)
	next
}

/^[a-z0-9_]+[ \t]*=/ {
	heads[++nheads] = $0
	next
}

/^[ \t]*$/ {
	flush()
	next
}

{
	fail("neither a comment, a setting nor a blank line")
}

END {
	if (failed)
		exit 1
	if (nfile != 2)
		fail("usage: awk -f conf2mdoc.awk TEMPLATE CONF")
	flush()
	if (inlist)
		emit(".El")
	for (i = 1; i <= ntmpl; i++) {
		line = tmpl[i]
		if (line == ".\\\" @SETTINGS@") {
			for (j = 1; j <= nout; j++)
				print out[j]
			continue
		}
		gsub(/@CONFIG_FILE@/, config_file, line)
		print line
	}
}
