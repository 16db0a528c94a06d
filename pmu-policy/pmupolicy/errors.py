# SPDX-License-Identifier: GPL-2.0-or-later
"""The one error the tool reports: a message, and nothing written."""


class PolicyError(Exception):
    pass
