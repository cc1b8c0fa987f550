"""The survey inside Braze's channels: an email's first question as one-tap links, the whole
survey in a Custom Code in-app message, and the first question in a Custom Code banner.

Every snippet is made from the one survey definition and answers through the respondent
pages, so an answer given in a channel is stored and delivered like any other.
"""
