"""The book's local Sphinx extension (loaded from _config.yml): what the build needs beyond configuration."""
import os

BUILD_ENV_VAR = "MINIGRAD_BOOK_BUILD"


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    # Sphinx 7.4 lists inline scripts added after builder-inited twice (file name None, then ''), and
    # sphinx-thebe's duplicated `const THEBE_JS_URL` is a SyntaxError on every page.
    unique = {}
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        unique.setdefault(key, script)
    context["script_files"] = list(unique.values())


def setup(app):
    # Kernels started by the build inherit this process's environment, so book/_helpers.py sees it.
    os.environ[BUILD_ENV_VAR] = "1"
    # An inherited MPLBACKEND (CI sets Agg) would replace the kernels' inline backend: figures would vanish.
    os.environ.pop("MPLBACKEND", None)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
